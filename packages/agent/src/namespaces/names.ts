// The names operators know a container or pod by, from files the runtimes and the kubelet write
// and leave readable on the host. No runtime API is asked (no docker.sock, no CRI socket): the
// agent stays read-only. What is read, and why it is honest:
// - docker: /var/lib/docker/containers/<id>/config.v2.json, its "Name" ("/web"), the name
//   `docker ps` shows. The file also holds the container's environment (secrets): only Name
//   is kept, and a capture writes only Name.
// - kubelet: /var/lib/kubelet/pods/<uid>/etc-hosts, written by managedHostsFileContent()
//   (pkg/kubelet/kubelet_pods.go): after the fixed localhost and ip6- lines, `<pod IP>\t<hostname>`
//   (or `<pod IP>\t<hostname>.<subdomain>...\t<hostname>`): the pod's hostname, its name unless
//   spec.hostname is set (and cut to 63 characters). The pod's namespace is the `namespace` file
//   of the service-account volume (volumes/kubernetes.io~projected/<volume>/namespace); the
//   `token` beside it is never opened.
// - podman (rootful): containers/storage's own records, <graphroot>/<driver>-containers/
//   containers.json and volatile-containers.json (JSON arrays of {id, names, ...}; podman
//   creates the storage container with its own id and name: libpod CreateContainerStorage(...,
//   c.config.Name, c.config.ID, ...)), under the default graphroot /var/lib/containers/storage
//   with the overlay or vfs driver. Read once per scan for every podman namespace (a cache);
//   a capture keeps only the id and names of each record. Rootless podman keeps them under
//   the user's home: not read, named by id.
// lxc and systemd-nspawn name the container in the cgroup path itself; plain containerd
// (nerdctl) and podman's own database (bolt, sqlite) are not read: named by id.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupOwner } from './cgroup-owner.js';

export interface OwnerNames {
  /** The container's name, or for a pod its name (hostname). */
  name: string | null;
  /** For a pod: its Kubernetes namespace, when the service-account volume names it. */
  podNamespace: string | null;
  /** Host paths read (and what a capture keeps of each). */
  read: Array<{ path: string; keep: string }>;
}

/** `"Name": "/web"` of docker's config.v2.json. Pure; null when it has none. */
export function parseDockerConfigName(text: string): string | null {
  const parsed = JSON.parse(text) as { Name?: unknown };
  return typeof parsed.Name === 'string' && parsed.Name !== '' ? parsed.Name.replace(/^\//, '') : null;
}

const FIXED_HOSTS = new Set(['localhost', 'ip6-localhost', 'ip6-loopback', 'ip6-localnet', 'ip6-mcastprefix', 'ip6-allnodes', 'ip6-allrouters']);

/** The pod's hostname from the kubelet's etc-hosts: the last name of its first own line. Pure. */
export function parseKubeletEtcHosts(text: string): string | null {
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      if (trimmed === '# Entries added by HostAliases.') return null; // past the pod's own lines
      continue;
    }
    const fields = trimmed.split(/\s+/);
    const names = fields.slice(1);
    if (names.length === 0 || names.every((n) => FIXED_HOSTS.has(n))) continue;
    return names[names.length - 1]!;
  }
  return null;
}

/** One record of containers/storage's containers.json: its id and names. */
export interface StorageContainer {
  id: string;
  names: string[];
}

/**
 * containers/storage's containers.json (or volatile-containers.json): each record's id and
 * names, nothing else. Pure; throws on text that is not a JSON array of records with an id.
 */
export function parseStorageContainers(text: string, file = 'containers.json'): StorageContainer[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${file}: expected a JSON array of containers, got ${text.slice(0, 80)}`);
  return parsed.map((entry: unknown, index) => {
    const record = entry as { id?: unknown; names?: unknown };
    if (typeof record?.id !== 'string' || record.id === '') throw new Error(`${file}: container ${index} has no id: ${JSON.stringify(entry).slice(0, 120)}`);
    const names = Array.isArray(record.names) ? record.names.filter((n): n is string => typeof n === 'string' && n !== '') : [];
    return { id: record.id, names };
  });
}

/** Where rootful podman's containers/storage keeps its container records (default graphroot; overlay, then vfs). */
export const PODMAN_CONTAINER_FILES = ['overlay', 'vfs'].flatMap((driver) =>
  ['containers.json', 'volatile-containers.json'].map((file) => `/var/lib/containers/storage/${driver}-containers/${file}`),
);

/** Files read and parsed once per scan for every namespace that needs them (podman's records): path -> records (null: missing or unreadable). */
export type NameFileCache = Map<string, StorageContainer[] | null>;

/**
 * Names for one owner, read under `root` (/ live, the capture directory on a replay). Missing or
 * unreadable files leave the name null: the owner is then named by its id.
 */
export function readOwnerNames(owner: CgroupOwner, root: string, cache: NameFileCache = new Map()): OwnerNames {
  const read: OwnerNames['read'] = [];
  const text = (path: string): string | null => {
    try {
      const value = readFileSync(join(root, path), 'utf8');
      return value;
    } catch {
      return null;
    }
  };
  if (owner.runtime === 'podman' && owner.id) {
    let name: string | null = null;
    for (const path of PODMAN_CONTAINER_FILES) {
      if (!cache.has(path)) {
        const records = text(path);
        try {
          cache.set(path, records === null ? null : parseStorageContainers(records, path));
        } catch {
          cache.set(path, null); // cut short while podman rewrote it: named by id
        }
      }
      const parsed = cache.get(path);
      if (parsed == null) continue;
      read.push({ path, keep: `${JSON.stringify(parsed)}\n` });
      name ??= parsed.find((c) => c.id === owner.id)?.names[0] ?? null;
    }
    return { name, podNamespace: null, read };
  }
  if (owner.runtime === 'docker' && owner.id) {
    const path = `/var/lib/docker/containers/${owner.id}/config.v2.json`;
    const config = text(path);
    let name: string | null = null;
    try {
      name = config === null ? null : parseDockerConfigName(config);
    } catch {
      name = null; // not JSON (cut short while docker rewrote it): named by id
    }
    if (config !== null) read.push({ path, keep: `${JSON.stringify({ Name: name === null ? '' : `/${name}` })}\n` });
    return { name, podNamespace: null, read };
  }
  if (owner.runtime === 'kubernetes' && owner.pod) {
    const dir = `/var/lib/kubelet/pods/${owner.pod.uid}`;
    const hosts = text(`${dir}/etc-hosts`);
    if (hosts !== null) read.push({ path: `${dir}/etc-hosts`, keep: hosts });
    let podNamespace: string | null = null;
    let volumes: string[] = [];
    try {
      volumes = readdirSync(join(root, dir, 'volumes/kubernetes.io~projected')).sort();
    } catch {
      volumes = [];
    }
    for (const volume of volumes) {
      const path = `${dir}/volumes/kubernetes.io~projected/${volume}/namespace`;
      const value = text(path)?.trim();
      if (value) {
        podNamespace = value;
        read.push({ path, keep: `${value}\n` });
        break;
      }
    }
    return { name: hosts === null ? null : parseKubeletEtcHosts(hosts), podNamespace, read };
  }
  return { name: owner.name, podNamespace: null, read };
}
