// The TypeScript type of a JSON schema of http/schemas.ts, so the dashboard (web/src/types.ts) and the
// CLI read the API's answers in the shape the server serialises them, declared once. Types only.
// Covers what schemas.ts uses: string, integer, number, boolean, object with properties, array with
// items, `enum`, and `[type, 'null']`. An object's properties are all present (the views set them all)
// unless it lists `required`: then only those are, the others optional. A schema without properties (a
// free-form object) reads as a record of unknowns.

type Scalar<T> = T extends 'string' ? string : T extends 'integer' | 'number' ? number : T extends 'boolean' ? boolean : T extends 'null' ? null : never;

type OfType<S, T> = T extends 'object'
  ? S extends { properties: infer P }
    ? Props<S, P>
    : Record<string, unknown>
  : T extends 'array'
    ? S extends { items: infer I }
      ? Shape<I>[]
      : unknown[]
    : Scalar<T>;

type Props<S, P> = S extends { required: readonly (infer R)[] }
  ? Flat<{ -readonly [K in keyof P as K extends R ? K : never]: Shape<P[K]> } & { -readonly [K in keyof P as K extends R ? never : K]?: Shape<P[K]> }>
  : { -readonly [K in keyof P]: Shape<P[K]> };

type Flat<T> = { [K in keyof T]: T[K] };

/** `T` with the keys `K` optional: for answers that carry some properties only sometimes. */
export type Optional<T, K extends keyof T> = Flat<Omit<T, K> & Partial<Pick<T, K>>>;

export type Shape<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: readonly (infer T)[] }
    ? OfType<S, T>
    : S extends { type: infer T }
      ? OfType<S, T>
      : unknown;
