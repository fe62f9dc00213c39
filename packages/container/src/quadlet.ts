/**
 * The [Container] section of a Podman Quadlet unit as `podman run` options, for the keys the
 * unit in docs/deploy uses (podman 4.3, the one Debian 12 ships, has no Quadlet generator; the
 * mapping is the one podman-systemd.unit(5) documents). An unknown key is an error, so a typo in
 * the documented unit fails its test instead of being ignored.
 */

export type UnitSections = Record<string, [string, string][]>;

/** systemd's unit syntax: [Section], Key=Value, comments from # or ; at the start of a line. */
export function parseUnit(text: string): UnitSections {
  const sections: UnitSections = {};
  let current: [string, string][] | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = sections[section[1]!] ??= [];
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq <= 0) throw new Error(`line ${i + 1}: not a Key=Value inside a [Section]: ${raw}`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

const words = (value: string): string[] => value.split(/\s+/).filter(Boolean);

const OPTIONS: Readonly<Record<string, (value: string) => string[]>> = {
  ContainerName: (v) => ['--name', v],
  PublishPort: (v) => ['--publish', v],
  DropCapability: (v) => words(v).map((c) => `--cap-drop=${c}`),
  AddCapability: (v) => words(v).map((c) => `--cap-add=${c}`),
  SeccompProfile: (v) => ['--security-opt', `seccomp=${v}`],
  Volume: (v) => ['--volume', v],
  Environment: (v) => words(v).flatMap((e) => ['--env', e]),
};

export interface QuadletRun {
  readonly image: string;
  readonly options: string[];
}

/** `podman run OPTIONS IMAGE` for the unit's [Container] section. */
export function quadletRunOptions(sections: UnitSections): QuadletRun {
  let image: string | undefined;
  const options: string[] = [];
  for (const [key, value] of sections.Container ?? []) {
    if (key === 'Image') {
      image = value;
      continue;
    }
    const map = OPTIONS[key];
    if (!map)
      throw new Error(
        `[Container] ${key}= is not a key this mapping knows (${Object.keys(OPTIONS).join(', ')}, Image)`,
      );
    options.push(...map(value));
  }
  if (!image) throw new Error('[Container] has no Image=');
  return { image, options };
}
