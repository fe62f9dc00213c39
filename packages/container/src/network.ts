/**
 * Hosts as network namespaces on one machine, for tests: each host is a namespace with its own
 * loopback and one interface on a private switch (a bridge in a namespace of its own), addressed
 * from TEST-NET-3 (203.0.113.0/24), which the machine's real network does not use. The test
 * process itself joins the switch at 203.0.113.1, so it can talk to every host; hosts have no
 * route anywhere else, and the test's HTTP clients bind to 203.0.113.1, so no packet can leave
 * through the machine's default gateway even if a namespace were gone. Removing the namespaces
 * removes every interface, address, route, sysctl and iptables rule made inside them.
 */
import { run } from './run.js';

export const SUBNET_PREFIX = '203.0.113';
export const CLIENT_ADDRESS = `${SUBNET_PREFIX}.1`;

export interface NetHost {
  /** The host's name in the test (A, B...). */
  readonly name: string;
  /** The network namespace (`ip netns` name, /run/netns/NS). */
  readonly netns: string;
  readonly address: string;
  /** Prefix that runs a program inside the host: `ip netns exec NS`. */
  readonly exec: readonly string[];
  /** Prefix for podman: it needs the host's /sys, which `ip netns exec` remounts. */
  readonly nsenter: readonly string[];
}

export interface TestNetwork {
  readonly hosts: Readonly<Record<string, NetHost>>;
  readonly clientAddress: string;
  remove(): Promise<void>;
}

const ip = (...args: string[]) => run('ip', args);

/**
 * Creates `names.length` hosts (addresses .10, .11, ...) on a switch. `id` must be short (it
 * prefixes interface names, 15 characters at most) and unique on the machine, e.g. `dfc${pid}`.
 */
export async function createTestNetwork(id: string, names: readonly string[]): Promise<TestNetwork> {
  if (id.length > 9)
    throw new Error(`network id ${id} is too long for interface names (9 characters at most)`);
  const sw = `${id}-sw`;
  const made: string[] = [];
  const remove = async (): Promise<void> => {
    for (const ns of made.reverse()) await ip('netns', 'del', ns).catch(() => undefined);
    made.length = 0;
    // The client's end of its veth pair went with the switch; this only catches a half-made one.
    await ip('link', 'del', `${id}-c`).catch(() => undefined);
  };
  try {
    await ip('netns', 'add', sw);
    made.push(sw);
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'br0', 'up');
    await ip('link', 'add', `${id}-c`, 'type', 'veth', 'peer', 'name', `${id}-pc`, 'netns', sw);
    await ip('-n', sw, 'link', 'set', `${id}-pc`, 'master', 'br0', 'up');
    await ip('addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', `${id}-c`);
    await ip('link', 'set', `${id}-c`, 'up');
    const hosts: Record<string, NetHost> = {};
    for (const [i, name] of names.entries()) {
      const netns = `${id}-${name}`;
      const address = `${SUBNET_PREFIX}.${10 + i}`;
      await ip('netns', 'add', netns);
      made.push(netns);
      await ip('-n', netns, 'link', 'set', 'lo', 'up');
      await ip(
        '-n',
        netns,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        `${id}-p${name}`,
        'netns',
        sw,
      );
      await ip('-n', sw, 'link', 'set', `${id}-p${name}`, 'master', 'br0', 'up');
      await ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await ip('-n', netns, 'link', 'set', 'eth0', 'up');
      hosts[name] = {
        name,
        netns,
        address,
        exec: ['ip', 'netns', 'exec', netns],
        nsenter: ['nsenter', `--net=/run/netns/${netns}`],
      };
    }
    return { hosts, clientAddress: CLIENT_ADDRESS, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
