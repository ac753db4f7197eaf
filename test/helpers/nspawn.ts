// A real systemd as PID 1 for tests: systemd-nspawn boots this machine's own systemd from its
// /usr on a throw-away root (--volatile=yes: / and so /etc and /var are tmpfs, /usr is the
// host's, read-only; nothing of the host is written), in a private network namespace, without
// registering with systemd-machined. The container's PID 1 is found as nspawn's child named
// systemd; commands run inside all its namespaces with nsenter -a.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { pidAlive } from './netns.js';

// No first-boot questions; and no waiting for a network manager to bring links up (the
// container's network is private, with nothing to configure), which would hold every unit
// ordered after network-online.target (the agent's) for minutes.
const BOOT_ARGS = ['systemd.firstboot=off', 'systemd.mask=systemd-networkd-wait-online.service', 'systemd.mask=NetworkManager-wait-online.service'];

export interface BootOptions {
  /** `--bind-ro=` arguments: HOST[:CONTAINER]. node (process.execPath) is added when it is not under /usr. */
  bindReadOnly?: string[];
  /** Kernel command line words for the container's systemd (default: boot to sockets.target only). */
  kernelArgs?: string[];
}

export class Container {
  private constructor(
    private readonly nspawn: ChildProcess,
    /** The container's PID 1 (systemd), as seen from the host. */
    readonly init: number,
    private readonly output: () => string,
  ) {}

  /** Boots it and waits until systemd runs as its PID 1 (up to 60 s: a loaded machine boots slowly). */
  static async boot(name: string, options: BootOptions = {}): Promise<Container> {
    const binds = [...(options.bindReadOnly ?? [])];
    if (!process.execPath.startsWith('/usr/')) binds.push(process.execPath);
    const args = ['-D', '/', '--volatile=yes', '--register=no', '--keep-unit', '--private-network', '-M', `${name}${process.pid}`.slice(0, 60), ...binds.map((b) => `--bind-ro=${b}`), '-b', ...(options.kernelArgs ?? ['systemd.unit=sockets.target']), ...BOOT_ARGS];
    const nspawn = spawn('systemd-nspawn', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    nspawn.stdout!.on('data', (d: Buffer) => { log += d.toString(); });
    nspawn.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    let init = 0;
    for (let i = 0; i < 600 && !init && nspawn.exitCode === null; i++) {
      const children = spawnSync('pgrep', ['-P', String(nspawn.pid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
      init = children.find((pid) => spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim() === 'systemd') ?? 0;
      if (!init) await delay(100);
    }
    const container = new Container(nspawn, init, () => log);
    if (!init) {
      await container.stop();
      assert.fail(`systemd-nspawn did not boot a systemd: ${log.slice(-3000)}`);
    }
    // Ready once PID 1 answers systemctl on its private socket (/run/systemd/private).
    for (let i = 0; i < 600; i++) {
      if (spawnSync('nsenter', ['-t', String(init), '-a', 'systemctl', 'show', '--property=Version'], { timeout: 10_000 }).status === 0) break;
      await delay(100);
    }
    // And once the boot is over (running or degraded: some of the host's units fail in a
    // container), so that a unit started now is not queued behind the boot's jobs.
    spawnSync('nsenter', ['-t', String(init), '-a', 'systemctl', 'is-system-running', '--wait'], { timeout: 90_000 });
    return container;
  }

  /** The boot messages so far, for failure messages. */
  log(): string {
    return this.output().slice(-3000);
  }

  /** Runs a command inside every namespace of the container; throws with its stderr on failure. */
  run(command: string[], input?: string): string {
    // Without NODE_EXTRA_CA_CERTS: a file of the host's /etc, which the throw-away root does not have.
    const { NODE_EXTRA_CA_CERTS: _unused, ...env } = process.env;
    return execFileSync('nsenter', ['-t', String(this.init), '-a', ...command], { encoding: 'utf8', env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
  }

  /** Runs a command in the container's network namespace only, with this process's privileges. */
  runInNetwork(command: string[]): ReturnType<typeof spawnSync> {
    return spawnSync('nsenter', ['-t', String(this.init), '-n', ...command], { encoding: 'utf8', timeout: 30_000 });
  }

  /** Asks its systemd to power off (SIGTERM to nspawn), waits up to 10 s, then kills what is left by PID. */
  async stop(): Promise<void> {
    const running = () => this.nspawn.exitCode === null && this.nspawn.signalCode === null;
    if (running()) this.nspawn.kill('SIGTERM');
    for (let i = 0; i < 100 && running(); i++) await delay(100);
    if (this.init && pidAlive(this.init)) process.kill(this.init, 'SIGKILL');
    if (running()) this.nspawn.kill('SIGKILL');
    for (let i = 0; i < 50 && running(); i++) await delay(100);
  }
}
