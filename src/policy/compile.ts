// A document compiled once for evaluation: wildcard patterns, principal sets, conditions with
// their values parsed. Cached per document object (a WeakMap), so the hot path does no parsing,
// no JSON work and no RegExp construction.
import { compileCondition, parseOperator, type CompiledCondition } from './conditions.js';
import { compileGlob, globMatch, type Glob } from './glob.js';
import { compilePrincipal, type CompiledPrincipal } from './principal.js';
import type { PolicyDocument, Statement } from './types.js';
import type { RequestKeys } from './request-keys.js';

export interface PatternList {
  readonly globs: readonly Glob[];
  /** "*" is among them. */
  readonly any: boolean;
}

export interface CompiledStatement {
  readonly statement: Statement;
  readonly deny: boolean;
  readonly principal: CompiledPrincipal | undefined;
  /** True for NotPrincipal. */
  readonly principalNegated: boolean;
  /** Lower-cased: actions compare case-insensitively. */
  readonly actions: PatternList;
  readonly actionNegated: boolean;
  /** Undefined in a trust policy statement without Resource: the role itself is the resource. */
  readonly resources: PatternList | undefined;
  readonly resourceNegated: boolean;
  readonly conditions: readonly CompiledCondition[];
}

export interface CompiledDocument {
  readonly statements: readonly CompiledStatement[];
}

const cache = new WeakMap<PolicyDocument, CompiledDocument>();

function patterns(list: readonly string[], ignoreCase: boolean, variables: boolean): PatternList {
  const globs = list.map((p) => compileGlob(p, { ignoreCase, variables }));
  return { globs, any: globs.some((g) => g.all) };
}

export function compileStatement(st: Statement, variables: boolean): CompiledStatement {
  const conditions: CompiledCondition[] = [];
  for (const [operator, keys] of st.condition ?? []) {
    const parsed = parseOperator(operator);
    if (!parsed) throw new Error(`unknown condition operator ${operator}`); // parsePolicy refuses these first
    for (const [key, values] of keys) conditions.push(compileCondition(parsed, key, values, variables));
  }
  const principal = st.principal ?? st.notPrincipal;
  const resource = st.resource ?? st.notResource;
  return {
    statement: st,
    deny: st.effect === 'Deny',
    principal: principal === undefined ? undefined : compilePrincipal(principal),
    principalNegated: st.notPrincipal !== undefined,
    // Actions never hold variables.
    actions: patterns(st.action ?? st.notAction ?? [], true, false),
    actionNegated: st.action === undefined,
    resources: resource === undefined ? undefined : patterns(resource, false, variables),
    resourceNegated: st.notResource !== undefined,
    conditions,
  };
}

/** The compiled form of `doc`, built on first use. Policy variables exist only in Version 2012-10-17. */
export function compileDocument(doc: PolicyDocument): CompiledDocument {
  let c = cache.get(doc);
  if (!c) {
    const variables = doc.version === '2012-10-17';
    c = { statements: doc.statements.map((s) => compileStatement(s, variables)) };
    cache.set(doc, c);
  }
  return c;
}

/** The first pattern of `list` that `text` matches (lower-case `text` for actions), or undefined. */
export function firstMatch(list: PatternList, text: string, req: RequestKeys): Glob | undefined {
  for (const g of list.globs) if (globMatch(g, text, req)) return g;
  return undefined;
}

export function anyMatch(list: PatternList, text: string, req: RequestKeys): boolean {
  if (list.any) return true;
  for (const g of list.globs) if (globMatch(g, text, req)) return true;
  return false;
}
