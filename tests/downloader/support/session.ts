/**
 * One fake hub per test file and a fresh cache, manifest file and environment per test: what
 * every downloader suite starts from.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { tempDir } from "./cli.js";
import { type Fixture, type FixtureOptions, setupFixture } from "./fixtures.js";
import { FakeHub } from "./hub-server.js";

export interface HubSession {
  hub: FakeHub;
  fixture: Fixture;
  dir: { path: string; cleanup: () => Promise<void> };
  /** `<dir>/cache`, not created: the downloader makes it. */
  cache: string;
  /** `<dir>/manifest.json`, holding the fixture's manifest. */
  manifestFile: string;
  /** `HF_ENDPOINT` pointing at the fake hub, plus the suite's own variables. */
  env: Record<string, string>;
}

export function useHubSession(options: { fixture?: FixtureOptions; env?: Record<string, string> } = {}): HubSession {
  const session = {} as HubSession;
  beforeAll(async () => {
    session.hub = await FakeHub.start();
    session.fixture = setupFixture(session.hub, options.fixture);
  });
  afterAll(() => session.hub.close());
  beforeEach(async () => {
    session.dir = await tempDir();
    session.cache = join(session.dir.path, "cache");
    session.manifestFile = join(session.dir.path, "manifest.json");
    await writeFile(session.manifestFile, JSON.stringify(session.fixture.manifest));
    session.env = { HF_ENDPOINT: session.hub.endpoint, ...options.env };
    session.hub.requests.length = 0;
    session.hub.clearFaults();
    session.hub.noRanges = false;
  });
  afterEach(() => session.dir.cleanup());
  return session;
}
