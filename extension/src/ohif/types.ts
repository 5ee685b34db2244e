/**
 * Hand-written types for the parts of OHIF 3.13 (and cornerstone3D 4.x underneath) that the extension and
 * mode use. OHIF publishes no type declarations, so these describe what the 3.13.2 build does, member by
 * member, and nothing more: add a member here when you start using it, with the behaviour you rely on.
 */

export interface Subscription {
  unsubscribe(): void;
}

export interface PubSubService<E extends string = string> {
  EVENTS: Record<E, string>;
  subscribe(event: string, callback: (payload: unknown) => void): Subscription;
}

/** The parts of an OHIF display set we read. Image series and SEG series share this shape. */
export interface DisplaySet {
  displaySetInstanceUID: string;
  StudyInstanceUID: string;
  SeriesInstanceUID: string;
  SeriesDescription?: string;
  SeriesNumber?: number | string;
  Modality: string;
  SOPClassUID?: string;
  /** cornerstone image ids of an image series, in display order */
  imageIds?: string[];
  instances?: Array<{ SOPInstanceUID: string; [key: string]: unknown }>;
  /** true for SEG, RTSTRUCT and other series drawn over another one */
  isOverlayDisplaySet?: boolean;
  referencedDisplaySetInstanceUID?: string | null;
  referencedSeriesInstanceUID?: string | null;
  isLoaded?: boolean;
  /** SEG display sets: parses the SEG and creates a segmentation whose id is displaySetInstanceUID */
  load?: (options: { headers?: Record<string, string> }) => Promise<void>;
}

export interface DisplaySetService extends PubSubService<'DISPLAY_SETS_ADDED' | 'DISPLAY_SETS_CHANGED'> {
  getDisplaySetByUID(displaySetInstanceUID: string): DisplaySet | undefined;
  getActiveDisplaySets(): DisplaySet[];
  getDisplaySetsForSeries(seriesInstanceUID: string): DisplaySet[];
}

export interface ViewportGridState {
  activeViewportId: string | null;
  viewports: Map<string, { viewportId: string; displaySetInstanceUIDs: string[] }>;
}

export interface ViewportGridService extends PubSubService<
  'ACTIVE_VIEWPORT_ID_CHANGED' | 'GRID_STATE_CHANGED'
> {
  getActiveViewportId(): string | null;
  getState(): ViewportGridState;
  getDisplaySetsUIDsForViewport(viewportId: string): string[] | undefined;
}

export interface SegmentInfo {
  segmentIndex: number;
  label: string;
  locked?: boolean;
  active?: boolean;
}

/** cornerstone3D segmentation state entry (OHIF hands it out as is). */
export interface Segmentation {
  segmentationId: string;
  label: string;
  segments: Record<number, SegmentInfo | undefined>;
  representationData: {
    Labelmap?: {
      /** 3.13: one derived labelmap image per source slice */
      imageIds?: string[];
      referencedImageIds?: string[];
      /** only for volume-backed labelmaps */
      volumeId?: string;
    };
  };
}

export interface SegmentationRepresentation {
  segmentationId: string;
  type: 'Labelmap' | 'Contour' | 'Surface';
  active: boolean;
  visible: boolean;
  viewportId: string;
}

export type SegmentationEvent =
  | 'SEGMENTATION_ADDED'
  | 'SEGMENTATION_MODIFIED'
  | 'SEGMENTATION_DATA_MODIFIED'
  | 'SEGMENTATION_REMOVED'
  | 'SEGMENTATION_LOADING_COMPLETE'
  | 'SEGMENTATION_REPRESENTATION_MODIFIED';

export interface SegmentationService extends PubSubService<SegmentationEvent> {
  getSegmentation(segmentationId: string): Segmentation | undefined;
  getSegmentations(): Segmentation[];
  getActiveSegmentation(viewportId: string): Segmentation | undefined;
  getSegmentationRepresentations(
    viewportId: string,
    specifier?: { segmentationId?: string; type?: string },
  ): SegmentationRepresentation[];
  addSegmentationRepresentation(
    viewportId: string,
    options: { segmentationId: string; type?: 'Labelmap' | 'Contour' | 'Surface' },
  ): Promise<void>;
  /** Creates an empty per-slice labelmap on the display set's images; resolves to its id. */
  createLabelmapForDisplaySet(
    displaySet: DisplaySet,
    options?: { label?: string; segmentationId?: string; segments?: Record<number, Partial<SegmentInfo>> },
  ): Promise<string>;
  setSegmentVisibility(
    viewportId: string,
    segmentationId: string,
    segmentIndex: number,
    visible: boolean,
  ): void;
  setActiveSegmentation(viewportId: string, segmentationId: string): void;
  setActiveSegment(segmentationId: string, segmentIndex: number): void;
  setSegmentColor(
    viewportId: string,
    segmentationId: string,
    segmentIndex: number,
    rgba: [number, number, number, number],
  ): void;
  /** RGBA 0..255 */
  getSegmentColor(viewportId: string, segmentationId: string, segmentIndex: number): number[] | undefined;
}

export interface PanelService extends PubSubService<'ACTIVATE_PANEL' | 'PANELS_CHANGED'> {
  activatePanel(panelId: string, forceActive?: boolean): void;
}

export interface ActivatePanelEvent {
  panelId: string;
  forceActive: boolean;
}

export interface UINotificationService {
  show(notification: {
    title: string;
    message: string;
    type?: 'info' | 'success' | 'warning' | 'error';
    duration?: number;
  }): void;
}

/** OHIF 3.13's toolbar service, as far as we use it (buttons themselves come from the mode). */
export interface ToolbarService {
  refreshToolbarState(props: { viewportId?: string | null }): void;
}

/** Present when OHIF runs with a login (OIDC): the user's access token for DICOMweb requests. */
export interface UserAuthenticationService {
  getAuthorizationHeader?: () => Record<string, string> | undefined;
}

export interface Services {
  toolbarService?: ToolbarService;
  userAuthenticationService?: UserAuthenticationService;
  segmentationService: SegmentationService;
  displaySetService: DisplaySetService;
  viewportGridService: ViewportGridService;
  panelService: PanelService;
  uiNotificationService: UINotificationService;
  cornerstoneViewportService: CornerstoneViewportService;
}

export interface ServicesManager {
  services: Services;
}

export interface CommandsManager {
  runCommand(name: string, options?: Record<string, unknown>, context?: string): unknown;
}

/** The DICOMweb data source's interface, as far as we use it. */
export interface DataSource {
  retrieve: {
    series: {
      metadata(options: { StudyInstanceUID: string; madeInClient?: boolean }): Promise<unknown>;
    };
  };
  /** Drops the cached metadata promise stored under exactly this key (see seg/requery.ts). */
  deleteStudyMetadataPromise(key: string): void;
  getConfig(): { name?: string; [key: string]: unknown } | undefined;
}

export interface ExtensionManager {
  getActiveDataSource(): DataSource[];
  getModuleEntry(id: string): { exports?: unknown } | undefined;
}

/** What OHIF hands to an extension's module getters and preRegistration. */
export interface ExtensionParams {
  servicesManager: ServicesManager;
  commandsManager: CommandsManager;
  extensionManager: ExtensionManager;
  appConfig?: Record<string, unknown>;
  configuration?: Record<string, unknown>;
}

// --- cornerstone3D ------------------------------------------------------------------------------------

export interface VoxelManager {
  getScalarData(): ArrayLike<number>;
}

export interface CornerstoneImage {
  imageId: string;
  rows: number;
  columns: number;
  /** labelmap images: the source image they were derived from */
  referencedImageId?: string;
  voxelManager?: VoxelManager;
}

export interface CornerstoneViewport {
  id: string;
  getCurrentImageId(): string | undefined;
  getImageIds?(): string[];
  setImageIdIndex?(index: number): Promise<string>;
  render(): void;
  canvas: HTMLCanvasElement;
}

export interface CornerstoneViewportService {
  getCornerstoneViewport(viewportId: string): CornerstoneViewport | undefined;
}

/** `cornerstone` from `@ohif/extension-cornerstone.utilityModule.common` -> getCornerstoneLibraries(). */
export interface CornerstoneCore {
  cache: { getImage(imageId: string): CornerstoneImage | undefined };
  metaData: { get(type: string, imageId: string): Record<string, unknown> | undefined };
}

export interface CornerstoneLibraries {
  cornerstone: CornerstoneCore;
}
