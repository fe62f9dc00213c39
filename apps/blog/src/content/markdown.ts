// Markdown to HTML with markdown-it, code blocks highlighted by highlight.js at render time (server side,
// so pages need no client-side JavaScript).
import hljs from 'highlight.js';
import MarkdownIt from 'markdown-it';
import { slugify } from './corpus.js';

type MarkdownItInstance = ReturnType<typeof MarkdownIt>;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class MarkdownRenderer {
  readonly #md: MarkdownItInstance;

  constructor() {
    const md: MarkdownItInstance = new MarkdownIt({
      html: false,
      linkify: true,
      typographer: true,
      highlight: (code, language) => {
        const lang = language && hljs.getLanguage(language) ? language : null;
        const html = lang
          ? hljs.highlight(code, { language: lang, ignoreIllegals: true }).value
          : escapeHtml(code);
        const label = lang ? ` data-lang="${escapeHtml(lang)}"` : '';
        return `<pre class="code"${label}><code class="hljs${lang ? ` language-${lang}` : ''}">${html}</code></pre>\n`;
      },
    });
    // Headings get stable ids so that sections can be linked to.
    md.renderer.rules.heading_open = (tokens, idx, options, _env, self) => {
      const inline = tokens[idx + 1];
      const token = tokens[idx]!;
      if (inline?.type === 'inline' && inline.content) token.attrSet('id', slugify(inline.content));
      return self.renderToken(tokens, idx, options);
    };
    // Links that leave the site are marked as such.
    const defaultLinkOpen =
      md.renderer.rules.link_open ??
      ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
    md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
      const token = tokens[idx]!;
      if (/^https?:\/\//.test(String(token.attrGet('href') ?? ''))) {
        token.attrSet('rel', 'noopener');
        token.attrJoin('class', 'external');
      }
      return defaultLinkOpen(tokens, idx, options, env, self);
    };
    this.#md = md;
  }

  render(markdown: string): string {
    return this.#md.render(markdown);
  }
}

/** The words of a Markdown document without its markup and code blocks: what the search index sees. */
export function markdownToPlainText(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[`*_>#|]/g, ' ')
    .replace(/-{3,}|:?-{3}:?/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
