// What a build tells about its job, as builder-web infers it on upload: the section on `/` and
// the synopsis, from the root package of the build's opam switch export.
import { parseOpamSwitchExport, sectionOfSwitch, synopsisOfSwitch } from './opam-switch.ts';

export interface JobFacts {
  section?: string;
  synopsis?: string;
}

export function jobFacts(opamSwitch: string | undefined): JobFacts {
  if (opamSwitch === undefined) return {};
  try {
    const sw = parseOpamSwitchExport(opamSwitch);
    const section = sectionOfSwitch(sw);
    const synopsis = synopsisOfSwitch(sw);
    return { ...(section ? { section } : {}), ...(synopsis ? { synopsis } : {}) };
  } catch {
    return {};
  }
}

/** An explicit `section: NAME` line in a README (ours; it wins over the inferred section). */
export function readmeSection(readme: string | undefined): string | undefined {
  return readme?.match(/^\s*section:\s*(.+?)\s*$/im)?.[1];
}
