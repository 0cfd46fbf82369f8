import { z } from 'zod';

// Model versions: their names, order, selection and traffic weights. Pure, here rather than in
// libs/vision, because the gateway picks a version for each request and may not import the
// vision lib (only the inference app loads models); libs/vision re-exports them.

/** A version name: it travels in results, metrics labels, cache keys and `model=name@version`. */
export const VERSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const VersionNameSchema = z.string().regex(VERSION_NAME, 'a version name is 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');

/**
 * Which versions of a model are served, as Triton's version_policy: the newest N (default 1),
 * all of them, or the ones named. "Newest" is the order of {@link compareVersions}.
 */
export const VersionPolicySchema = z.union(
  [
    z.literal('all'),
    z.strictObject({ latest: z.number().int().positive() }),
    z.strictObject({ specific: z.array(VersionNameSchema).min(1) }),
  ],
  { error: 'expected "all", {"latest": N} or {"specific": ["1", "2"]}' },
);
export type VersionPolicy = z.infer<typeof VersionPolicySchema>;

/** Traffic share of each served version, by version name (relative numbers: 90 and 10 split 90/10). */
export const VersionWeightsSchema = z.record(VersionNameSchema, z.number().min(0).finite());
export type VersionWeights = z.infer<typeof VersionWeightsSchema>;

/** A version and its traffic weight: what {@link pickVersion} chooses among. */
export interface WeightedVersion {
  version: string;
  /** Relative share of requests: 0 serves none unless asked for by version. */
  weight: number;
}

/** A version chosen to serve, with its traffic weight and what it is (a repository entry, a published description). */
export interface ServedVersion<T extends { version: string }> extends WeightedVersion {
  entry: T;
}

/** What a model serves under its policy and weights, and what in them did not apply. */
export interface VersionSelection<T extends { version: string }> {
  /** Oldest first; empty when the policy selects nothing that exists. */
  served: ServedVersion<T>[];
  /** Policy names and weights that match no served version (operators should hear of them). */
  notes: string[];
}

/**
 * Orders version names oldest first: runs of digits compare as numbers and the rest character by
 * character, so "2" < "10" and "v2" < "v10"; a name that is all digits is older than any other.
 */
export function compareVersions(a: string, b: string): number {
  const numeric = (s: string) => /^\d+$/.test(s);
  if (numeric(a) !== numeric(b)) return numeric(a) ? -1 : 1;
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] as string;
    const y = pb[i] as string;
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const [nx, ny] = [BigInt(x), BigInt(y)];
      if (nx !== ny) return nx < ny ? -1 : 1;
      // Equal numbers written differently ("01", "1"): the shorter first, so the order is total.
      return x.length - y.length;
    }
    if (dx !== dy) return dx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * The versions to serve under a policy (default: the newest one) and their weights. Versions
 * served but not weighted get 0; when no served version has a weight above 0 the newest gets
 * all the traffic (100). Weights of versions not served, and policy names that match nothing,
 * are left out and reported in `notes`.
 */
export function selectVersions<T extends { version: string }>(
  versions: readonly T[],
  policy: VersionPolicy = { latest: 1 },
  weights: VersionWeights = {},
): VersionSelection<T> {
  const ordered = [...versions].sort((a, b) => compareVersions(a.version, b.version));
  const notes: string[] = [];
  let chosen: T[];
  if (policy === 'all') chosen = ordered;
  else if ('latest' in policy) chosen = ordered.slice(Math.max(0, ordered.length - policy.latest));
  else {
    chosen = ordered.filter((v) => policy.specific.includes(v.version));
    const missing = policy.specific.filter((name) => !ordered.some((v) => v.version === name));
    if (missing.length > 0) notes.push(`versionPolicy names ${missing.join(', ')}, not in the repository (it has ${versionNames(ordered)})`);
  }
  const unserved = Object.keys(weights).filter((name) => !chosen.some((v) => v.version === name));
  if (unserved.length > 0) notes.push(`weights name ${unserved.join(', ')}, not served (serving ${versionNames(chosen)})`);
  const served = chosen.map((entry) => ({ version: entry.version, entry, weight: weights[entry.version] ?? 0 }));
  const newest = served.at(-1);
  if (newest && served.every((s) => s.weight === 0)) newest.weight = 100;
  return { served, notes };
}

/**
 * Picks the version for one request: `random` (in [0, 1), e.g. Math.random()) falls in a
 * version's share of the total weight. Versions of weight 0 are never picked.
 */
export function pickVersion(served: readonly WeightedVersion[], random: number): string {
  if (!(random >= 0 && random < 1)) throw new RangeError(`random must be in [0, 1), not ${random}`);
  const total = served.reduce((sum, s) => sum + s.weight, 0);
  if (!(total > 0)) throw new RangeError('no served version has a weight above 0');
  let point = random * total;
  let last: string | undefined;
  for (const s of served) {
    if (s.weight <= 0) continue;
    if (point < s.weight) return s.version;
    point -= s.weight;
    last = s.version;
  }
  // Rounding can leave the point a hair past the last share.
  return last as string;
}

/**
 * The version that takes a model's traffic when only one can: the one with the most weight, the
 * newest among equals. Undefined for an empty list.
 */
export function primaryVersion<T extends WeightedVersion>(versions: readonly T[]): T | undefined {
  return versions.reduce<T | undefined>((best, v) => (!best || v.weight > best.weight || (v.weight === best.weight && compareVersions(v.version, best.version) > 0) ? v : best), undefined);
}

/** Version names, comma-separated ("none" for none), for messages. */
export function versionNames(versions: readonly { version: string }[]): string {
  return versions.length > 0 ? versions.map((v) => v.version).join(', ') : 'none';
}
