// The deterministic demo corpus: authors, tags and posts with real Markdown (headings, lists, code blocks in
// several languages, links, quotes, tables). Same seed and count, same corpus, on any machine.
import { Prng } from './prng.js';
import { SNIPPET_LANGUAGES, SNIPPETS } from './snippets.js';
import {
  ADJECTIVES,
  BIO_PARTS,
  CLAUSES,
  COMPARATIVES,
  EXTERNAL_LINKS,
  FIELDS,
  FIRST_NAMES,
  GERUNDS,
  HEADINGS,
  IDENTIFIERS,
  INLINE_CODE,
  LAST_NAMES,
  METRICS,
  OBJECTS,
  OPENERS,
  PROBLEMS,
  QUOTES,
  SUBJECTS,
  TAGS,
  type TagDef,
  TOPICS,
  TRANSITIONS,
  VERBS,
} from './words.js';

export const DEFAULT_POST_COUNT = 3000;
export const DEFAULT_SEED = 0x5eed_b10c;
const AUTHOR_COUNT = 8;
/** The first post is published at this instant; later ones follow every 0.5 to 2.5 days. */
const EPOCH = Date.UTC(2013, 0, 7, 9, 0, 0);
const DAY_MS = 86_400_000;

export interface CorpusAuthor {
  readonly slug: string;
  readonly name: string;
  readonly bio: string;
}
export interface CorpusTag {
  readonly slug: string;
  readonly name: string;
}
export interface CorpusPost {
  readonly slug: string;
  readonly title: string;
  readonly summary: string;
  readonly bodyMarkdown: string;
  readonly authorSlug: string;
  readonly tagSlugs: readonly string[];
  /** ISO 8601, UTC. */
  readonly publishedAt: string;
}
export interface Corpus {
  readonly authors: readonly CorpusAuthor[];
  readonly tags: readonly CorpusTag[];
  /** Oldest first. */
  readonly posts: readonly CorpusPost[];
}

export interface CorpusOptions {
  readonly postCount?: number;
  readonly seed?: number;
}

export function slugify(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{Letter}\p{Number}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80)
    .replace(/-+$/g, '');
}

/** Good enough for this vocabulary: "cold starts" and "a handful of syscalls" are plural, "disk I/O" is not. */
function isPlural(nounPhrase: string): boolean {
  return /[^s]s$/.test(nounPhrase);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Generates the whole corpus in memory (a few MB for the default size). */
export function generateCorpus(options: CorpusOptions = {}): Corpus {
  const postCount = options.postCount ?? DEFAULT_POST_COUNT;
  const rng = new Prng(options.seed ?? DEFAULT_SEED);
  const authors = generateAuthors(rng);
  const tags = TAGS.map(({ slug, name }) => ({ slug, name }));
  const posts: CorpusPost[] = [];
  const usedSlugs = new Set<string>();
  let time = EPOCH;
  for (let i = 0; i < postCount; i++) {
    const writer = new PostWriter(rng, posts);
    const post = writer.write(rng.pick(authors).slug, new Date(time).toISOString(), usedSlugs);
    posts.push(post);
    // Whole seconds, so that dates survive formats without milliseconds (RSS) unchanged.
    time += Math.round((DAY_MS * (0.5 + rng.next() * 2)) / 1000) * 1000 - rng.int(0, 3600) * 1000;
  }
  return { authors, tags, posts };
}

function generateAuthors(rng: Prng): CorpusAuthor[] {
  const firsts = rng.sample(FIRST_NAMES, AUTHOR_COUNT);
  const lasts = rng.sample(LAST_NAMES, AUTHOR_COUNT);
  return firsts.map((first, i) => {
    const name = `${first} ${lasts[i]}`;
    return { slug: slugify(name), name, bio: `${first} ${rng.pick(BIO_PARTS)}.` };
  });
}

class PostWriter {
  readonly #rng: Prng;
  readonly #earlier: readonly CorpusPost[];
  #mainTag!: TagDef;
  #topic = '';

  constructor(rng: Prng, earlier: readonly CorpusPost[]) {
    this.#rng = rng;
    this.#earlier = earlier;
  }

  write(authorSlug: string, publishedAt: string, usedSlugs: Set<string>): CorpusPost {
    const rng = this.#rng;
    this.#mainTag = rng.pick(TAGS);
    this.#topic = rng.pick(TOPICS);
    const extraTags = rng.sample(
      TAGS.filter((t) => t !== this.#mainTag),
      rng.int(1, 3),
    );
    const tagSlugs = [this.#mainTag, ...extraTags].map((t) => t.slug);
    const title = this.#title();
    let slug = slugify(title);
    for (let n = 2; usedSlugs.has(slug); n++) slug = `${slugify(title)}-${n}`;
    usedSlugs.add(slug);

    const summary = `${this.#plainSentence()} ${this.#plainSentence()}`;
    const blocks: string[] = [summary, this.#paragraph(3, 5)];
    const sections = rng.int(3, 6);
    let codeBlocks = 0;
    for (let s = 0; s < sections; s++) {
      blocks.push(`## ${this.#heading()}`);
      blocks.push(this.#paragraph(3, 6));
      const extra = rng.next();
      if (extra < 0.45 || (s === sections - 1 && codeBlocks === 0)) {
        blocks.push(this.#codeBlock());
        codeBlocks++;
        blocks.push(this.#paragraph(2, 4));
      } else if (extra < 0.65) {
        blocks.push(this.#list());
      } else if (extra < 0.75) {
        blocks.push(`> ${rng.pick(QUOTES)}`);
      } else if (extra < 0.82) {
        blocks.push(this.#table());
      } else {
        blocks.push(`### ${capitalize(this.#topic)} in detail`);
        blocks.push(this.#paragraph(2, 4));
      }
    }
    blocks.push(this.#paragraph(2, 3));
    return {
      slug,
      title,
      summary,
      bodyMarkdown: `${blocks.join('\n\n')}\n`,
      authorSlug,
      tagSlugs,
      publishedAt,
    };
  }

  #tech(): string {
    return this.#mainTag.tech ?? this.#rng.pick(TAGS.filter((t) => t.tech)).tech ?? 'Node.js';
  }

  #title(): string {
    const rng = this.#rng;
    const topic = this.#topic;
    const tech = this.#tech();
    switch (rng.int(0, 11)) {
      case 0:
        return `Notes on ${topic}`;
      case 1:
        return `What I learned ${rng.pick(GERUNDS).toLowerCase()} ${topic}`;
      case 2:
        return `${capitalize(topic)}: ${rng.pick(ADJECTIVES)} lessons from production`;
      case 3:
        return `A ${rng.pick(ADJECTIVES)} guide to ${topic} in ${tech}`;
      case 4:
        return `Why ${topic} ${isPlural(topic) ? 'are' : 'is'} ${rng.pick(COMPARATIVES)} than you think`;
      case 5:
        return `${rng.int(3, 12)} things about ${topic} nobody told me`;
      case 6:
        return `Debugging ${rng.pick(PROBLEMS)} in ${tech}`;
      case 7:
        return `${rng.pick(GERUNDS)} ${topic} with ${tech}`;
      case 8:
        return `The case for ${topic}`;
      case 9:
        return `How we cut ${rng.pick(METRICS)} by ${rng.int(12, 90)}%`;
      case 10:
        return `Revisiting ${topic}`;
      default:
        return `${capitalize(tech)} and ${topic}, in practice`;
    }
  }

  #heading(): string {
    return this.#rng.pick(HEADINGS).replace('{topic}', this.#topic).replace('{tech}', this.#tech());
  }

  /** A sentence without Markdown (used for summaries, which are shown as plain text). */
  #plainSentence(): string {
    const rng = this.#rng;
    const form = rng.int(0, 11);
    if (form <= 2) {
      return `${capitalize(rng.pick(OPENERS) + rng.pick(SUBJECTS))} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)} ${rng.pick(CLAUSES)}.`;
    }
    if (form === 3) {
      const thing = rng.pick(OBJECTS);
      const adverb = rng.pick(['often', 'usually', 'rarely', 'sometimes']);
      return `When it comes to ${this.#topic}, ${thing} ${adverb} ${isPlural(thing) ? 'matter' : 'matters'} more than ${rng.pick(OBJECTS)} ${rng.pick(CLAUSES)}.`;
    }
    if (form <= 5) {
      return `We measured ${rng.pick(METRICS)} ${rng.pick(CLAUSES)} and found that ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}.`;
    }
    if (form <= 7) {
      return `${capitalize(rng.pick(SUBJECTS))} accounted for roughly ${rng.int(5, 95)}% of ${rng.pick(METRICS)}, about ${rng.int(2, 900)} ms ${rng.pick(CLAUSES)}.`;
    }
    if (form === 10) {
      return `If ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}, ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)} as well.`;
    }
    if (form === 11) {
      return `The ${rng.pick(['short', 'honest', 'boring', 'practical'])} answer is that ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}.`;
    }
    return `${capitalize(rng.pick(OPENERS) + rng.pick(SUBJECTS))} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}, and ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}.`;
  }

  #sentence(): string {
    const rng = this.#rng;
    const roll = rng.next();
    if (roll < 0.08) return rng.pick(TRANSITIONS);
    if (roll < 0.18) {
      return `${capitalize(rng.pick(OPENERS))}\`${rng.pick(INLINE_CODE)}\` ${rng.pick(VERBS)} ${rng.pick(OBJECTS)} ${rng.pick(CLAUSES)}.`;
    }
    if (roll < 0.24) {
      const [label, url] = rng.pick(EXTERNAL_LINKS);
      return `See [${label}](${url}) for the details of ${rng.pick(OBJECTS)}.`;
    }
    if (roll < 0.3 && this.#earlier.length > 0) {
      const other =
        this.#earlier[rng.int(Math.max(0, this.#earlier.length - 400), this.#earlier.length - 1)]!;
      return `I wrote about this before in [${other.title}](/posts/${other.slug}).`;
    }
    if (roll < 0.36) {
      return `${capitalize(rng.pick(SUBJECTS))} is **${rng.pick(ADJECTIVES)}** ${rng.pick(CLAUSES)}, but *${rng.pick(SUBJECTS)}* ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}.`;
    }
    return this.#plainSentence();
  }

  #paragraph(min: number, max: number): string {
    const count = this.#rng.int(min, max);
    const sentences: string[] = [];
    for (let i = 0; i < count; i++) sentences.push(this.#sentence());
    return sentences.join(' ');
  }

  #list(): string {
    const rng = this.#rng;
    const ordered = rng.chance(0.4);
    const items = rng.int(3, 6);
    const lines: string[] = [];
    for (let i = 0; i < items; i++) {
      const marker = ordered ? `${i + 1}.` : '-';
      const text = rng.chance(0.3)
        ? `\`${rng.pick(INLINE_CODE)}\`: ${rng.pick(SUBJECTS)} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}`
        : `${capitalize(rng.pick(SUBJECTS))} ${rng.pick(VERBS)} ${rng.pick(OBJECTS)}`;
      lines.push(`${marker} ${text}.`);
    }
    return lines.join('\n');
  }

  #table(): string {
    const rng = this.#rng;
    const rows = rng.int(3, 5);
    const lines = ['| Variant | Median (ms) | p99 (ms) |', '| --- | ---: | ---: |'];
    for (let i = 0; i < rows; i++) {
      const median = rng.int(2, 400);
      lines.push(`| ${capitalize(rng.pick(SUBJECTS))} | ${median} | ${median + rng.int(5, 600)} |`);
    }
    return lines.join('\n');
  }

  #codeBlock(): string {
    const rng = this.#rng;
    const language =
      this.#mainTag.language && rng.chance(0.75) ? this.#mainTag.language : rng.pick(SNIPPET_LANGUAGES);
    const templates = SNIPPETS[language] ?? SNIPPETS.javascript!;
    const fn = rng.pick(IDENTIFIERS);
    const code = rng
      .pick(templates)
      .replaceAll('{fn}', fn)
      .replaceAll('{Fn}', capitalize(fn))
      .replaceAll('{field}', rng.pick(FIELDS))
      .replaceAll('{n}', String(rng.int(2, 9)))
      .replaceAll('{m}', String(rng.int(16, 4096)));
    return `\`\`\`${language}\n${code}\n\`\`\``;
  }
}
