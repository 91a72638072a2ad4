#pragma once

namespace partita {

/// A test hook: when the environment variable PARTITA_CRASH_AT is `<name>` or `<name>:<n>`,
/// the n-th (default first) call of crash_point(<name>) ends the process at once, as kill -9
/// would (no destructors, no flush; exit code 86). Costs one relaxed load otherwise.
/// Points the engine has: after-commit (a batch's LMDB transaction committed, nothing
/// produced), mid-changelog (some of a batch's changelog records acknowledged, not its
/// checkpoint), before-offset-commit (a batch acknowledged, its offset not yet handed to the
/// consumer), during-recovery (a first part of the changelog read into the store).
void crash_point(const char* name);

} // namespace partita
