// Java application: how it listens by default and the change that makes it dual-stack
// (the entry's shape and shared helpers: model.ts; the list: index.ts).
import { check, MAPPED, unit, type DaemonKnowledge } from './model.js';

export const java: DaemonKnowledge = {
  id: 'java',
  displayName: 'Java application',
  processNames: ['java'],
  configFile: "the JVM options of the service (JAVA_OPTS / CATALINA_OPTS in its unit or setenv.sh) and the application's bind address (e.g. Tomcat <Connector address=>, Spring Boot server.address)",
  defaultListening:
    'With IPv6 available the JVM uses AF_INET6 sockets, so a wildcard ServerSocket is one :: socket taking IPv4 as mapped; -Djava.net.preferIPv4Stack=true makes every socket IPv4-only. java.net has no IPV6_V6ONLY option, so a JVM cannot open separate wildcard sockets per family.',
  addIpv6(ctx) {
    return {
      summary: `The JVM runs with -Djava.net.preferIPv4Stack=true, or the application binds 0.0.0.0. Remove the flag and bind the wildcard (::).`,
      commands: [
        '# remove -Djava.net.preferIPv4Stack=true from JAVA_OPTS / CATALINA_OPTS',
        `# bind the wildcard, e.g. Tomcat server.xml: <Connector port="${ctx.port}" address="::" .../>  or Spring Boot: server.address=::`,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  addIpv4(ctx) {
    return {
      summary: 'The application binds an IPv6 address. Bind the wildcard instead; the JVM\'s :: socket serves IPv4 (mapped) and IPv6.',
      commands: [
        `# bind the wildcard, e.g. Tomcat server.xml: <Connector port="${ctx.port}" address="::" .../>  or Spring Boot: server.address=::`,
        `systemctl restart ${unit(ctx, '{unit}')}`,
        check(ctx, MAPPED),
      ],
    };
  },
  aclDirective:
    'No JVM-wide access list: allow-lists live in the application or container (e.g. Tomcat RemoteAddrValve regexes over the client address string). How a mapped IPv4 peer is presented there (plain IPv4 or ::ffff:) was not verified: test them with an IPv4 and an IPv6 client. java.net.preferIPv6Addresses (default false) only changes name-lookup order.',
  sources: [
    'Java Networking Properties: java.net.preferIPv4Stack, java.net.preferIPv6Addresses — https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/net/doc-files/net-properties.html',
    'Red Hat JBoss Web Server: Java IPv4/IPv6 properties for Tomcat — https://access.redhat.com/documentation/en-us/red_hat_jboss_web_server/5.2/html/installation_guide/java_ipv4_ipv6_properties',
  ],
};
