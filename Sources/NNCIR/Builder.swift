// Building functions in code: each op's result types come from its shape rule.

/// Builds a function instruction by instruction, typing each result by its op's shape rule.
public struct FunctionBuilder {
  public private(set) var function: Function
  /// Blocks under construction: the function body first, open regions after it.
  private var blocks: [Block] = [Block()]

  public init(name: String) {
    function = Function(name: name)
  }

  /// Adds a parameter.
  public mutating func parameter(_ name: String, _ type: TensorType) -> Value {
    let v = function.newValue(type)
    function.parameters.append(Parameter(name: name, value: v))
    return v
  }

  /// The type of a value built so far.
  public func type(of v: Value) -> TensorType? { function.type(of: v) }

  /// Appends `op` applied to `operands`; returns its results. Throws when the shape rule rejects
  /// the operand types, with the op's name in front of the rule's message.
  @discardableResult
  public mutating func emit(_ op: Op, _ operands: [Value], loc: Location? = nil) throws(ShapeError) -> [Value] {
    var types: [TensorType] = []
    for v in operands {
      guard let t = function.type(of: v) else { throw ShapeError("\(op.mnemonic): operand \(v) has no type") }
      types.append(t)
    }
    let resultTypes: [TensorType]
    do {
      resultTypes = try op.resultTypes(for: types)
    } catch {
      throw ShapeError("\(op.mnemonic): \(error.message)")
    }
    let results = resultTypes.map { function.newValue($0) }
    blocks[blocks.count - 1].instructions.append(Instruction(op: op, operands: operands, results: results, loc: loc))
    return results
  }

  /// Appends a single-result op and returns its result.
  public mutating func add(_ op: Op, _ operands: Value..., loc: Location? = nil) throws(ShapeError) -> Value {
    let r = try emit(op, operands, loc: loc)
    guard let first = r.first else { throw ShapeError("\(op.mnemonic): has no result") }
    return first
  }

  /// Appends a `cond` whose regions are built by `then` and `else`, each returning the values
  /// to yield, which must have `resultTypes`.
  public mutating func cond(
    _ predicate: Value, resultTypes: [TensorType], loc: Location? = nil,
    then: (inout FunctionBuilder) throws(ShapeError) -> [Value],
    else otherwise: (inout FunctionBuilder) throws(ShapeError) -> [Value]
  ) throws(ShapeError) -> [Value] {
    var regions: [Block] = []
    for k in 0..<2 {
      blocks.append(Block())
      let yielded: [Value]
      do {
        yielded = k == 0 ? try then(&self) : try otherwise(&self)
      } catch {
        // Close the region so the builder stays usable after a failed cond.
        blocks.removeLast()
        throw error
      }
      var region = blocks.removeLast()
      region.terminator = yielded
      regions.append(region)
    }
    let results = resultTypes.map { function.newValue($0) }
    blocks[blocks.count - 1].instructions.append(
      Instruction(op: .cond, operands: [predicate], results: results, regions: regions, loc: loc))
    return results
  }

  /// Ends the function returning `values`; result types are theirs.
  public mutating func finish(returning values: [Value]) -> Function {
    var f = function
    f.body = blocks[0]
    f.body.terminator = values
    f.resultTypes = values.compactMap { function.type(of: $0) }
    return f
  }
}
