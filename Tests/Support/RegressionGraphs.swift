// Graphs that once exposed a bug, shared by the tests that check the fix from different sides.

/// A `cond` with a result nothing reads (a bool) next to one that is returned: the unused
/// result lives over the whole cond, so it shares workspace with nothing a region computes (a
/// one-byte bool result sharing with a value a region computed once overwrote that value's
/// first byte). WorkspacePlanTests checks the plan, WorkspaceReuseTests the compiled results.
public let unusedCondResultGraph = """
  swiftgraph 1
  func @c(%x: f32[6], %p: bool[]) -> f32[6] {
    %a = exp %x
    %u, %r = cond %p -> (bool[], f32[6]) {
      yield %p, %a
    } else {
      %e = neg %a
      yield %p, %e
    }
    return %r
  }
  """
