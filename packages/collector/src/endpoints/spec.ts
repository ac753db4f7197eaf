// Checks a declared endpoint beyond its schema (the URL parsed by core's parseEndpointUrl, the
// expected TLS name, unique names), for the configuration file and the admin API alike: both
// refuse a bad entry naming its key.
import { EndpointUrlError, isDnsName, parseEndpointUrl, type EndpointAddress, type EndpointSpec } from '@dualstack/core';

/** A declared endpoint that cannot be probed; `key` is the dotted path of the bad field. */
export class EndpointSpecError extends Error {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`bad key '${key}': ${reason}`);
    this.name = 'EndpointSpecError';
  }
}

/** The parsed address of one spec; throws EndpointSpecError with `key` as the spec's prefix. */
export function checkEndpointSpec(spec: EndpointSpec, key: string): EndpointAddress {
  let address: EndpointAddress;
  try {
    address = parseEndpointUrl(spec.url);
  } catch (error) {
    if (error instanceof EndpointUrlError) throw new EndpointSpecError(`${key}.url`, error.message);
    throw error;
  }
  const tlsName = spec.expect?.tlsName;
  if (tlsName !== undefined && !isDnsName(tlsName.replace(/^\*\./, ''))) throw new EndpointSpecError(`${key}.expect.tlsName`, `'${tlsName}' is not a DNS name`);
  if (spec.expect?.status !== undefined && address.protocol !== 'http') {
    throw new EndpointSpecError(`${key}.expect.status`, `applies to http:// and https:// only, and the url is ${address.scheme}://`);
  }
  if (tlsName !== undefined && !address.tls) throw new EndpointSpecError(`${key}.expect.tlsName`, `needs a TLS scheme (https, smtps, imaps, pop3s, tls), and the url is ${address.scheme}://`);
  return address;
}

/** Checks every spec of the `endpoints` list and that names are unique. */
export function checkEndpointSpecs(specs: readonly EndpointSpec[], key = 'endpoints'): void {
  const seen = new Set<string>();
  specs.forEach((spec, index) => {
    if (seen.has(spec.name)) throw new EndpointSpecError(`${key}.${index}.name`, `'${spec.name}' is used by another endpoint`);
    seen.add(spec.name);
    checkEndpointSpec(spec, `${key}.${index}`);
  });
}
