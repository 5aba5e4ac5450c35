/**
 * The smallest Reflect metadata store that @peculiar/x509 needs.
 *
 * @peculiar/x509 registers its algorithms through tsyringe, and tsyringe refuses to load unless
 * `Reflect.getMetadata` exists (it normally comes from the reflect-metadata package, which is not a
 * dependency here). tsyringe only reads constructor parameter types and stores injection tokens, so a
 * WeakMap per target is enough. Installed only when no real polyfill is present; import this module
 * before '@peculiar/x509'.
 */

type MetadataKey = unknown;
type Target = object;

interface ReflectWithMetadata {
  getMetadata?: (key: MetadataKey, target: Target) => unknown;
  getOwnMetadata?: (key: MetadataKey, target: Target) => unknown;
  defineMetadata?: (key: MetadataKey, value: unknown, target: Target) => void;
}

const reflect = Reflect as unknown as ReflectWithMetadata;

if (typeof reflect.getMetadata !== 'function') {
  const store = new WeakMap<Target, Map<MetadataKey, unknown>>();

  reflect.defineMetadata = (key, value, target) => {
    let entries = store.get(target);
    if (!entries) {
      entries = new Map();
      store.set(target, entries);
    }
    entries.set(key, value);
  };

  reflect.getOwnMetadata = (key, target) => store.get(target)?.get(key);

  // Metadata is inherited along the prototype chain, as in the reflect-metadata proposal.
  reflect.getMetadata = (key, target) => {
    for (let current: Target | null = target; current; current = Object.getPrototypeOf(current) as Target | null) {
      const entries = store.get(current);
      if (entries?.has(key)) return entries.get(key);
    }
    return undefined;
  };
}

export {};
