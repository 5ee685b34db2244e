/**
 * The parts of OHIF 3.13's mode API the nnSAM mode touches (OHIF ships no types). The extension's
 * extension/src/ohif/types.ts holds the service types; the mode needs only these.
 */
export interface Subscription {
  unsubscribe(): void;
}

export interface ModeServices {
  panelService: {
    EVENTS: { ACTIVATE_PANEL: string };
    activatePanel(panelId: string, forceActive?: boolean): void;
    subscribe(
      event: string,
      callback: (event: { panelId: string; forceActive?: boolean }) => void,
    ): Subscription;
  };
  /** absent in the unit tests' reduced services */
  toolbarService?: {
    updateSection(section: string, buttonIds: string[]): void;
  };
}

export interface ModeContext {
  servicesManager: { services: ModeServices };
  [key: string]: unknown;
}

export interface LayoutInstance {
  id: string;
  props: { leftPanels?: unknown[]; rightPanels?: unknown[]; [key: string]: unknown };
}

export interface ModeRoute {
  path: string;
  layoutTemplate: (this: ModeRoute, ...args: unknown[]) => unknown;
  layoutInstance: LayoutInstance;
  [key: string]: unknown;
}

/** A mode instance as modeFactory returns it (only the members we read or replace are typed). */
export interface ModeInstance {
  id: string;
  routeName: string;
  displayName: string;
  routes: ModeRoute[];
  onModeEnter?: (this: ModeInstance, ctx: ModeContext) => void;
  onModeExit?: (this: ModeInstance, ctx: ModeContext) => void;
  /** OHIF 3.13 toolbar composition: button definitions and `{ $reference }` packs */
  toolbarButtons?: unknown[];
  /** the stock modes keep their unsubscribe functions here; onModeExit calls them */
  _unsubscriptions?: Array<() => void>;
  [key: string]: unknown;
}

/** A mode module (the default export of a mode package). */
export interface ModeModule {
  id: string;
  modeInstance?: ModeInstance;
  modeFactory: (
    this: { modeInstance?: ModeInstance },
    args: { modeConfiguration?: unknown; loadModules?: LoadModules },
  ) => ModeInstance | Promise<ModeInstance>;
  extensionDependencies?: Record<string, string>;
}

export type LoadModules = (names: string[]) => Promise<unknown[]>;
