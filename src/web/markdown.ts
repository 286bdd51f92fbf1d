// A job's README rendered as builder-web does (headings moved down two levels), with markdown-it:
// raw HTML disabled (shown as text) and its link check (no javascript:, vbscript:, file:, data: links).
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

/** `section:` lines are ours (the index section), not prose. */
export function readmeHtml(readme: string): string {
  const env = {};
  const tokens = md.parse(readme.replace(/^\s*section:.*$/gim, ''), env);
  for (const t of tokens) if (t.type === 'heading_open' || t.type === 'heading_close') t.tag = `h${Math.min(6, Number(t.tag.slice(1)) + 2)}`;
  return md.renderer.render(tokens, md.options, env);
}
