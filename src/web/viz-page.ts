// The frame of a visualization page: one self-contained HTML document (inline CSS, no CDN), shown
// alone or inside an iframe of the build page.
import { esc } from './html.ts';

export function vizPage(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:8px;color:#222;background:#fff}
h1{font-size:16px;margin:0 0 6px}
svg{width:100%;height:auto;display:block}
@media (max-width:480px){svg.wide{display:none}}@media (min-width:481px){svg.narrow{display:none}}
.none{padding:2em;text-align:center;color:#666}
.scale p{margin:4px 0 8px}.bar{height:8px;background:#eee;border-radius:4px;overflow:hidden}.bar span{display:block;height:100%;background:#4c78a8}
.glabel{font:bold 12px system-ui,sans-serif;fill:#111}.mlabel{font:10px system-ui,sans-serif;fill:#fff;pointer-events:none}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;padding:0;margin:8px 0 0;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.edge{stroke:#999;stroke-opacity:.35;fill:none}.edge.hot{stroke:#e45756;stroke-opacity:.9;stroke-width:2}
.node circle{stroke:#333;stroke-width:.5}.node text{font:15px system-ui,sans-serif;fill:#222}.node.hot text{font-weight:bold;fill:#b00}
.node.dim{opacity:.25}
</style></head><body><h1>${esc(title)}</h1>
${body}
${script ? `<script>${script}</script>` : ''}
</body></html>
`;
}
