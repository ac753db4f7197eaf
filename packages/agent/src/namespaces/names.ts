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
// lxc and systemd-nspawn name the container in the cgroup path itself; podman and plain
// containerd keep names in databases (bolt, sqlite), not read: their owner is named by id.
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

/**
 * Names for one owner, read under `root` (/ live, the capture directory on a replay). Missing or
 * unreadable files leave the name null: the owner is then named by its id.
 */
export function readOwnerNames(owner: CgroupOwner, root: string): OwnerNames {
  const read: OwnerNames['read'] = [];
  const text = (path: string): string | null => {
    try {
      const value = readFileSync(join(root, path), 'utf8');
      return value;
    } catch {
      return null;
    }
  };
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
