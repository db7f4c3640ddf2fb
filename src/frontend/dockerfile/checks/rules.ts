/**
 * The Dockerfile checks tsbuild knows, under BuildKit's rule names so a
 * `# check=skip=…` line written for one builder works with the other.
 */
export interface CheckRule {
  readonly name: string
  /** One line saying why the rule exists. */
  readonly description: string
  /** The rule's page in Docker's build-checks reference, where BuildKit points its users. */
  readonly url: string
  /** Runs only when named in `experimental=` (or `experimental=all`). */
  readonly isExperimental?: boolean
}

/** `JSONArgsRecommended` → `json-args-recommended`: the slug Docker's docs use. */
export function ruleSlug (name: string): string {
  return name.replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2').replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase()
}

const rule = (name: string, description: string, isExperimental = false): CheckRule =>
  Object.freeze({ name, description, url: `https://docs.docker.com/go/dockerfile/rule/${ruleSlug(name)}/`, ...(isExperimental ? { isExperimental } : {}) })

export const RULES = {
  StageNameCasing: rule('StageNameCasing', 'Stage names are matched case-insensitively, so write them in lowercase'),
  FromAsCasing: rule('FromAsCasing', "The 'AS' keyword should be written in the same case as 'FROM'"),
  NoEmptyContinuation: rule('NoEmptyContinuation', 'A blank line inside a continued instruction is easy to misread and will be rejected later'),
  ConsistentInstructionCasing: rule('ConsistentInstructionCasing', 'Instruction keywords should all be uppercase or all be lowercase'),
  DuplicateStageName: rule('DuplicateStageName', 'Each stage name may be given to one stage only'),
  ReservedStageName: rule('ReservedStageName', "'context' and 'scratch' have a meaning of their own and cannot name a stage"),
  JSONArgsRecommended: rule('JSONArgsRecommended', 'Shell-form CMD/ENTRYPOINT run under /bin/sh, which does not forward signals to the program'),
  MaintainerDeprecated: rule('MaintainerDeprecated', 'MAINTAINER is deprecated; set the org.opencontainers.image.authors label instead'),
  UndefinedArgInFrom: rule('UndefinedArgInFrom', 'FROM may only use ARGs declared before the first stage'),
  WorkdirRelativePath: rule('WorkdirRelativePath', 'A relative WORKDIR depends on the base image and changes meaning when it does'),
  UndefinedVar: rule('UndefinedVar', 'A variable is used before any ARG or ENV defines it'),
  MultipleInstructionsDisallowed: rule('MultipleInstructionsDisallowed', 'Only the last CMD, ENTRYPOINT or HEALTHCHECK of a stage takes effect'),
  LegacyKeyValueFormat: rule('LegacyKeyValueFormat', 'Write ENV and LABEL as key=value; the space-separated form is legacy'),
  RedundantTargetPlatform: rule('RedundantTargetPlatform', 'FROM already builds for $TARGETPLATFORM unless told otherwise'),
  SecretsUsedInArgOrEnv: rule('SecretsUsedInArgOrEnv', 'ARG and ENV values end up in the image history; pass secrets with RUN --mount=type=secret'),
  InvalidDefaultArgInFrom: rule('InvalidDefaultArgInFrom', 'Without --build-arg values the default ARGs give FROM an empty or invalid image name'),
  FromPlatformFlagConstDisallowed: rule('FromPlatformFlagConstDisallowed', 'A constant FROM --platform ties the stage to one platform; use a platform ARG'),
  CopyIgnoredFile: rule('CopyIgnoredFile', 'COPY/ADD names a file that .dockerignore keeps out of the build context'),
  InvalidDefinitionDescription: rule('InvalidDefinitionDescription', 'A comment right above a stage or ARG should start with its name to describe it', true),
  ExposeProtoCasing: rule('ExposeProtoCasing', 'EXPOSE protocols should be lowercase'),
  ExposeInvalidFormat: rule('ExposeInvalidFormat', 'EXPOSE takes container ports only, not an IP address or a host port'),
} as const satisfies Record<string, CheckRule>

export type RuleName = keyof typeof RULES

export const ruleNames: readonly RuleName[] = Object.keys(RULES) as RuleName[]
