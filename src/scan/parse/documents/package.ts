/**
 * What the format readers share while reading one zip package: the package, the output, the
 * limits, the problems found, and OOXML's relationships between parts.
 */
import { FlowBuilder } from './flow.js';
import type { TextOutput } from './output.js';
import { attribute, type Attributes, type XmlHandler } from './xml.js';
import type { ZipPackage } from './zip.js';

export interface Relationship {
  id: string;
  /** The last segment of the relationship type URI (`worksheet`, `sharedStrings`, `header`). */
  type: string;
  /** The part's name in the package. */
  target: string;
}

export class PackageReader {
  readonly problems: string[] = [];
  /** Where reading stopped, when a limit stopped it (`sheet "Pupils" row 5,001`). */
  where: string | undefined;

  constructor(
    readonly pkg: ZipPackage,
    readonly out: TextOutput,
    readonly maxColumns: number,
  ) {}

  /** Nothing more can be written or read. */
  get stopped(): boolean {
    return this.out.full || this.pkg.exhausted;
  }

  problem(text: string): void {
    if (!this.problems.includes(text)) this.problems.push(text);
  }

  /** A part of running text and tables, as its own block. */
  async flow(part: string, handler: (builder: FlowBuilder) => XmlHandler): Promise<void> {
    const builder = new FlowBuilder(this.out, this.maxColumns);
    this.out.block();
    try {
      await this.pkg.parse(part, handler(builder), () => builder.full);
    } finally {
      // What was read before damaged data is still scanned.
      builder.finish();
      for (const problem of builder.problems()) this.problem(problem);
    }
  }

  /** The relationships of a part (from `dir/_rels/name.rels`), targets resolved to part names. */
  async relationships(part: string): Promise<Relationship[]> {
    const slash = part.lastIndexOf('/');
    const dir = part.slice(0, slash + 1);
    const rels: Relationship[] = [];
    await this.pkg.parse(`${dir}_rels/${part.slice(slash + 1)}.rels`, {
      open(name, attributes) {
        if (name !== 'Relationship' || attribute(attributes, 'TargetMode') === 'External') return;
        const id = attribute(attributes, 'Id');
        const type = attribute(attributes, 'Type');
        const target = attribute(attributes, 'Target');
        if (id === undefined || type === undefined || target === undefined) return;
        rels.push({ id, type: type.slice(type.lastIndexOf('/') + 1), target: resolvePart(dir, target) });
      },
    });
    return rels;
  }
}

/** The relationship id attribute (`r:id`): prefixed, unlike a plain `id`. */
export function relationshipId(attributes: Attributes): string | undefined {
  for (const [key, value] of Object.entries(attributes)) {
    if (key.endsWith(':id')) return value;
  }
  return undefined;
}

/** A relationship target, relative to the source part's folder unless absolute, as a part name. */
export function resolvePart(dir: string, target: string): string {
  let decoded = target;
  try {
    decoded = decodeURIComponent(target);
  } catch {
    // A stray % in a name written by a careless producer: use it as written.
  }
  const path = decoded.startsWith('/') ? decoded.slice(1) : `${dir}${decoded}`;
  const parts: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '..') parts.pop();
    else if (segment !== '.' && segment !== '') parts.push(segment);
  }
  return parts.join('/');
}
