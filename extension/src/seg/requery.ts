/**
 * Re-reads a study's metadata so series stored after the viewer opened it (a SEG written by the nnSAM
 * server) get display sets.
 *
 * OHIF 3.13.2 caches study metadata under `<dataSource name>:<StudyInstanceUID>` but its
 * `deleteStudyMetadataPromise(uid)` deletes the bare UID, so a plain re-query returns the stale cached
 * answer. We delete both keys (the data source deletes exactly the key it is given), then retrieve again.
 */
import type { DataSource } from '../ohif/types.js';

export function studyCacheKeys(dataSource: DataSource, studyInstanceUID: string): string[] {
  const name = dataSource.getConfig()?.name;
  return name ? [studyInstanceUID, `${name}:${studyInstanceUID}`] : [studyInstanceUID];
}

export async function requeryStudy(dataSource: DataSource, studyInstanceUID: string): Promise<void> {
  for (const key of studyCacheKeys(dataSource, studyInstanceUID)) dataSource.deleteStudyMetadataPromise(key);
  await dataSource.retrieve.series.metadata({ StudyInstanceUID: studyInstanceUID, madeInClient: true });
}
