// The HTML answers for errors (404 with the navigation and the hash search of every page) and
// builder-web's robots.txt.
import { h, page } from './html.ts';

/** builder-web's: crawlers stay off the files, logs, archives, exec blobs and comparisons. */
export const ROBOTS_TXT = `User-agent: *
Disallow: /job/*/build/*/f/
Disallow: /job/*/build/*/main-binary
Disallow: /job/*/build/*/script
Disallow: /job/*/build/*/console
Disallow: /job/*/build/*/all.tar.gz
Disallow: /job/*/build/*/exec
Disallow: /compare/
`;

export function errorPage(status: number, target: string, message: string): string {
  const title = status === 404 ? 'Page not found' : `Error ${status}`;
  return page(
    title,
    h`<section class="not-found"><h1>${status === 404 ? 'This page does not exist' : title}</h1>
<p>You requested the page <code>${target}</code>${message === `${target} not found` ? h`` : h`: ${message}`}.</p>
<p>Go to <a href="/">the jobs</a>, <a href="/all-builds">all builds</a> or <a href="/failed-builds">failed builds</a>, or search an artifact by its SHA-256 above.</p></section>`,
  );
}
