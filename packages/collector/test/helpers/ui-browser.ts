// Debian's Chromium driven by playwright-core, for the dashboard's browser tests and its
// benchmark. A fresh user-data-dir each launch (removed on close), and the flags that keep
// Chromium off the network: every request the page makes must go to the collector on
// 127.0.0.1 (the tests check it).
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.DUALSTACK_CHROMIUM ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (DUALSTACK_CHROMIUM may name another)`;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--no-default-browser-check',
  '--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication',
];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium with a new empty profile. playwright-core refuses --user-data-dir in args, so
 * the profile is given as launchPersistentContext's userDataDir (the same flag underneath).
 */
export async function launchBrowser(options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'dualstack-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: options.viewport ?? { width: 1280, height: 900 },
      colorScheme: options.colorScheme ?? 'light',
      locale: 'en-US',
      timezoneId: 'UTC',
      timeout: 60_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    close: async () => {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}

/** test-output/ui at the repository root (ignored by git): screenshots go there. */
export function artifactDir(): string {
  const dir = new URL('../../../../test-output/ui/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  return dir;
}
