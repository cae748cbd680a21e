// The shell: navigation, the page for the current hash route, and the token prompt.

import { useEffect } from 'preact/hooks';
import { TokenDialog } from './components/TokenDialog.js';
import { Impact } from './pages/Impact.js';
import { Jobs } from './pages/Jobs.js';
import { Nodes } from './pages/Nodes.js';
import { Overview } from './pages/Overview.js';
import { Quarantine } from './pages/Quarantine.js';
import { QuarantineEntry } from './pages/QuarantineEntry.js';
import { Workers } from './pages/Workers.js';
import { href, useRoute, type Route } from './router.js';

const PAGES = [
  { page: 'overview', title: 'Overview' },
  { page: 'quarantine', title: 'Quarantine' },
  { page: 'jobs', title: 'Jobs' },
  { page: 'workers', title: 'Workers' },
  { page: 'nodes', title: 'Nodes' },
  { page: 'impact', title: 'Impact' },
] as const;

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'quarantine':
      return route.rest[0] ? <QuarantineEntry key={route.rest[0]} id={route.rest[0]} /> : <Quarantine params={route.params} />;
    case 'jobs':
      return <Jobs handle={route.rest[0] ?? null} params={route.params} />;
    case 'workers':
      return <Workers />;
    case 'nodes':
      return <Nodes />;
    case 'impact':
      return <Impact params={route.params} />;
    default:
      return (
        <section>
          <h1>Not found</h1>
          <p>
            There is no page “{route.page}”. <a href={href('overview')}>Go to the overview</a>.
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const title = PAGES.find((p) => p.page === route.page)?.title ?? 'Not found';
  useEffect(() => {
    document.title = `${title} · Lazaret`;
  }, [title]);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('overview')}>
          Lazaret
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p.page} href={href(p.page)} aria-current={route.page === p.page ? 'page' : undefined}>
              {p.title}
            </a>
          ))}
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
      <TokenDialog />
    </>
  );
}
