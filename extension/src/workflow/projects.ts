/**
 * Panel section 2, the project list: which projects the server has, which one is selected (remembered in
 * this browser), and creating one. Selecting a project clears and reloads the sections that depend on it
 * through the hooks the workflow passes in.
 */
import type { ClassDef, Project } from '@nnsam/server/api';

import type { NnsamApi } from '../api/client.js';
import { ViewerError, type ErrorText } from '../errors.js';
import type { Notices } from './notices.js';
import { Store } from './store.js';

export interface ProjectsState {
  projects: Project[];
  error: ErrorText | null;
  projectId: string | null;
}

/** What the sections that depend on the project do when it changes. */
export interface ProjectHooks {
  /** another project (or none) is selected: forget what belonged to the previous one */
  closed(): void;
  /** the selected project's own data loads (also when the same one is selected again) */
  opened(project: Project): Promise<void>;
}

export type ProjectStorage = Pick<Storage, 'getItem' | 'setItem'>;

const PROJECT_KEY = 'nnsam.projectId';

export class ProjectsStore extends Store<ProjectsState> {
  constructor(
    private readonly api: Pick<NnsamApi, 'projects' | 'createProject'>,
    private readonly notices: Notices,
    private readonly hooks: ProjectHooks,
    private readonly storage: ProjectStorage | undefined,
  ) {
    super({ projects: [], error: null, projectId: null });
  }

  get project(): Project | undefined {
    return this.state.projects.find((p) => p.id === this.state.projectId);
  }

  requireProject(): Project {
    const project = this.project;
    if (!project) {
      throw new ViewerError('no_project', 'No nnSAM project is selected.', {
        hint: 'Create a project with its classes in the nnSAM panel (section "Project").',
      });
    }
    return project;
  }

  /** Lists the projects and selects the last one used here (or the first). Reports its own failure. */
  async load(): Promise<void> {
    try {
      const projects = await this.api.projects();
      const stored = this.storage?.getItem(PROJECT_KEY);
      const pick =
        projects.find((p) => p.id === this.state.projectId) ??
        projects.find((p) => p.id === stored) ??
        projects[0];
      this.set({ projects, error: null });
      await this.select(pick?.id ?? null);
    } catch (e) {
      this.set({ error: this.notices.report('nnSAM: cannot load the projects', e) });
      throw e;
    }
  }

  async select(projectId: string | null): Promise<void> {
    if (projectId !== this.state.projectId) {
      this.set({ projectId });
      this.hooks.closed();
      if (projectId) this.storage?.setItem(PROJECT_KEY, projectId);
    }
    if (!projectId) return;
    await this.hooks.opened(this.project!);
  }

  async create(name: string, classes: ClassDef[]): Promise<Project> {
    const project = await this.api.createProject({ name, classes });
    this.set({ projects: [...this.state.projects.filter((p) => p.id !== project.id), project] });
    await this.select(project.id);
    this.notices.success('nnSAM', `Project "${project.name}" created with ${classes.length} classes.`);
    return project;
  }

  /** The list as the server has it now (a finished training run changes a project's latest model). */
  replace(projects: Project[]): void {
    this.set({ projects });
  }
}
