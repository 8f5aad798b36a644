// Every Tensor API operation against NumPy: runs the cases of Tests/Fixtures/tensor_ops.json
// (made by tools/fixtures/gen_tensor_fixtures.py) through the Swift call each case names.

import Foundation
import NNC
import NNCIR
import NNCRuntime
import NNCTestSupport
import Testing

/// One fixture: a Swift call on some inputs, and the output NumPy computed.
struct TensorOpCase: CustomStringConvertible, Sendable {
  var name: String
  /// The Swift call, inputs bound to `x`, `y`, `z` (as `tensorCall` spells it).
  var call: String
  var inputs: [NDArray]
  var output: NDArray
  var rtol: Double
  var atol: Double
  var description: String { name }
}

enum TensorFixtures {
  struct JSONCase: Decodable {
    var name: String
    var call: String
    var inputs: [FixtureArray]
    var outputs: [FixtureArray]
    var rtol: Double
    var atol: Double
  }

  struct JSONFile: Decodable {
    var cases: [JSONCase]
  }

  /// Decoded with JSONDecoder: JSONSerialization rounds some doubles wrongly on Linux.
  static let cases: [TensorOpCase] = {
    let url = packageRoot.appendingPathComponent("Tests/Fixtures/tensor_ops.json")
    let file = try! JSONDecoder().decode(JSONFile.self, from: Data(contentsOf: url))
    return file.cases.map {
      TensorOpCase(
        name: $0.name, call: $0.call, inputs: $0.inputs.map(\.array), output: $0.outputs[0].array,
        rtol: $0.rtol, atol: $0.atol)
    }
  }()
}

/// A tensor holding a copy of `a`, made through the public API.
func tensor(_ a: NDArray) -> Tensor {
  switch a.storage {
  case .f32(let v): return Tensor(v, shape: a.shape)
  case .f64(let v): return Tensor(v, shape: a.shape, dtype: .f64)
  case .i32(let v): return Tensor(v, shape: a.shape)
  case .i64(let v): return Tensor(v, shape: a.shape)
  case .bool(let v): return Tensor(v, shape: a.shape)
  }
}

typealias TensorCall = (Tensor, Tensor, Tensor) -> Tensor

/// The Swift call each fixture names: its text, as the fixture file spells it, and the closure
/// (inputs bound to `x`, `y`, `z`; a call starting `r = ...` is statements returning `r`).
/// A case added to the generator needs its entry here.
func tensorCall(_ name: String) -> (String, TensorCall)? {
  switch name {
  case "tensor_from_float_array":
    return ("Tensor([1.5, -2, 0.25] as [Float])", { x, y, z in Tensor([1.5, -2, 0.25] as [Float]) })
  case "tensor_from_double_array":
    return ("Tensor([0.1, 0.2, 0.3] as [Double])", { x, y, z in Tensor([0.1, 0.2, 0.3] as [Double]) })
  case "tensor_from_int_array":
    return ("Tensor([3, -1, 4] as [Int])", { x, y, z in Tensor([3, -1, 4] as [Int]) })
  case "tensor_from_int32_array":
    return ("Tensor([7, -8] as [Int32])", { x, y, z in Tensor([7, -8] as [Int32]) })
  case "tensor_from_bool_array":
    return ("Tensor([true, false, true])", { x, y, z in Tensor([true, false, true]) })
  case "tensor_nested_2d":
    return ("Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]])", { x, y, z in Tensor([[1, 2, 3], [4, 5, 6]] as [[Float]]) })
  case "tensor_nested_3d":
    return ("Tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]] as [[[Int]]])", { x, y, z in Tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]] as [[[Int]]]) })
  case "tensor_values_shape":
    return ("Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [3, 2])", { x, y, z in Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [3, 2]) })
  case "tensor_values_shape_from_input":
    return ("Tensor(x.scalars(as: Double.self), shape: [2, 2], dtype: .f64)", { x, y, z in Tensor(x.scalars(as: Double.self), shape: [2, 2], dtype: .f64) })
  case "tensor_scalar":
    return ("Tensor(scalar: Float(2.5))", { x, y, z in Tensor(scalar: Float(2.5)) })
  case "zeros":
    return ("Tensor.zeros([2, 3])", { x, y, z in Tensor.zeros([2, 3]) })
  case "zeros_i64":
    return ("Tensor.zeros([4], dtype: .i64)", { x, y, z in Tensor.zeros([4], dtype: .i64) })
  case "ones":
    return ("Tensor.ones([3, 1])", { x, y, z in Tensor.ones([3, 1]) })
  case "ones_bool":
    return ("Tensor.ones([2], dtype: .bool)", { x, y, z in Tensor.ones([2], dtype: .bool) })
  case "full":
    return ("Tensor.full([2, 2], 3.5)", { x, y, z in Tensor.full([2, 2], 3.5) })
  case "full_i32":
    return ("Tensor.full([3], -2, dtype: .i32)", { x, y, z in Tensor.full([3], -2, dtype: .i32) })
  case "full_f64":
    return ("Tensor.full([2], 0.1, dtype: .f64)", { x, y, z in Tensor.full([2], 0.1, dtype: .f64) })
  case "full_scalar_shape":
    return ("Tensor.full([], 7)", { x, y, z in Tensor.full([], 7) })
  case "arange":
    return ("Tensor.arange(5)", { x, y, z in Tensor.arange(5) })
  case "arange_start_end_step":
    return ("Tensor.arange(2, 11, step: 3)", { x, y, z in Tensor.arange(2, 11, step: 3) })
  case "arange_negative_step":
    return ("Tensor.arange(5, -3, step: -2)", { x, y, z in Tensor.arange(5, -3, step: -2) })
  case "arange_empty":
    return ("Tensor.arange(3, 3)", { x, y, z in Tensor.arange(3, 3) })
  case "arange_float_step":
    return ("Tensor.arange(0.0, 1.0, step: 0.25)", { x, y, z in Tensor.arange(0.0, 1.0, step: 0.25) })
  case "arange_float_step_inexact_f64":
    return ("Tensor.arange(-1.0, 0.5, step: 0.4, dtype: .f64)", { x, y, z in Tensor.arange(-1.0, 0.5, step: 0.4, dtype: .f64) })
  case "arange_float_negative_step":
    return ("Tensor.arange(1.0, -1.0, step: -0.5)", { x, y, z in Tensor.arange(1.0, -1.0, step: -0.5) })
  case "linspace":
    return ("Tensor.linspace(0, 1, count: 5)", { x, y, z in Tensor.linspace(0, 1, count: 5) })
  case "linspace_f64":
    return ("Tensor.linspace(-1, 2, count: 7, dtype: .f64)", { x, y, z in Tensor.linspace(-1, 2, count: 7, dtype: .f64) })
  case "linspace_descending":
    return ("Tensor.linspace(3, -3, count: 4)", { x, y, z in Tensor.linspace(3, -3, count: 4) })
  case "linspace_one":
    return ("Tensor.linspace(3, 9, count: 1)", { x, y, z in Tensor.linspace(3, 9, count: 1) })
  case "eye":
    return ("Tensor.eye(3)", { x, y, z in Tensor.eye(3) })
  case "eye_rect_i64":
    return ("Tensor.eye(2, 4, dtype: .i64)", { x, y, z in Tensor.eye(2, 4, dtype: .i64) })
  case "eye_tall_bool":
    return ("Tensor.eye(3, 2, dtype: .bool)", { x, y, z in Tensor.eye(3, 2, dtype: .bool) })
  case "randn_seed42":
    return ("Tensor.randn([2, 3], generator: RandomGenerator(seed: 42))", { x, y, z in Tensor.randn([2, 3], generator: RandomGenerator(seed: 42)) })
  case "randn_f64_seed5_odd_count":
    return ("Tensor.randn([5], dtype: .f64, generator: RandomGenerator(seed: 5))", { x, y, z in Tensor.randn([5], dtype: .f64, generator: RandomGenerator(seed: 5)) })
  case "rand_seed7":
    return ("Tensor.rand([5], generator: RandomGenerator(seed: 7))", { x, y, z in Tensor.rand([5], generator: RandomGenerator(seed: 7)) })
  case "rand_f64_seed0":
    return ("Tensor.rand([2, 2], dtype: .f64, generator: RandomGenerator(seed: 0))", { x, y, z in Tensor.rand([2, 2], dtype: .f64, generator: RandomGenerator(seed: 0)) })
  case "randint_seed3":
    return ("Tensor.randint(-3, 4, [2, 4], generator: RandomGenerator(seed: 3))", { x, y, z in Tensor.randint(-3, 4, [2, 4], generator: RandomGenerator(seed: 3)) })
  case "add_same_shape":
    return ("x + y", { x, y, z in x + y })
  case "add_broadcast_row":
    return ("x + y", { x, y, z in x + y })
  case "add_broadcast_both":
    return ("x + y", { x, y, z in x + y })
  case "sub_broadcast_3d":
    return ("x - y", { x, y, z in x - y })
  case "mul_by_0d_tensor":
    return ("x * y", { x, y, z in x * y })
  case "div":
    return ("x / y", { x, y, z in x / y })
  case "add_method_broadcast":
    return ("x.add(y)", { x, y, z in x.add(y) })
  case "sub_method_broadcast":
    return ("x.sub(y)", { x, y, z in x.sub(y) })
  case "mul_method_broadcast":
    return ("x.mul(y)", { x, y, z in x.mul(y) })
  case "div_method_broadcast":
    return ("x.div(y)", { x, y, z in x.div(y) })
  case "neg_prefix":
    return ("-x", { x, y, z in -x })
  case "add_double":
    return ("x + 1.5", { x, y, z in x + 1.5 })
  case "double_plus_tensor":
    return ("2.0 + x", { x, y, z in 2.0 + x })
  case "double_minus_tensor":
    return ("1.0 - x", { x, y, z in 1.0 - x })
  case "sub_double":
    return ("x - 0.25", { x, y, z in x - 0.25 })
  case "mul_float":
    return ("x * Float(0.5)", { x, y, z in x * Float(0.5) })
  case "float_times_tensor":
    return ("Float(3) * x", { x, y, z in Float(3) * x })
  case "div_double":
    return ("x / 4.0", { x, y, z in x / 4.0 })
  case "double_div_tensor":
    return ("1.0 / x", { x, y, z in 1.0 / x })
  case "f32_plus_int":
    return ("x + Int(2)", { x, y, z in x + Int(2) })
  case "f32_times_double_scalar":
    return ("x * 0.1", { x, y, z in x * 0.1 })
  case "int_add_sub_mul":
    return ("x * y - x + 3", { x, y, z in x * y - x + 3 })
  case "int_times_int_literal":
    return ("x * 2", { x, y, z in x * 2 })
  case "int_minus_tensor":
    return ("Int(1) - x", { x, y, z in Int(1) - x })
  case "promotion_int_tensor_times_half_f32":
    return ("x * 0.5", { x, y, z in x * 0.5 })
  case "promotion_i32_plus_i64":
    return ("x + y", { x, y, z in x + y })
  case "promotion_i32_plus_int_scalar_stays_i32":
    return ("x + 3", { x, y, z in x + 3 })
  case "promotion_f32_plus_f64":
    return ("x + y", { x, y, z in x + y })
  case "promotion_i64_plus_f32":
    return ("x + y", { x, y, z in x + y })
  case "promotion_bool_plus_i64":
    return ("x + y", { x, y, z in x + y })
  case "promotion_bool_times_double_f32":
    return ("x * 2.5", { x, y, z in x * 2.5 })
  case "promotion_f64_plus_double_keeps_precision":
    return ("x + 0.1", { x, y, z in x + 0.1 })
  case "promotion_f64_times_double_keeps_precision":
    return ("x * 0.3", { x, y, z in x * 0.3 })
  case "pow":
    return ("x.pow(y)", { x, y, z in x.pow(y) })
  case "pow_broadcast_0d":
    return ("x.pow(y)", { x, y, z in x.pow(y) })
  case "pow_f64":
    return ("x.pow(y)", { x, y, z in x.pow(y) })
  case "maximum_broadcast_nan":
    return ("x.maximum(y)", { x, y, z in x.maximum(y) })
  case "minimum_broadcast_nan":
    return ("x.minimum(y)", { x, y, z in x.minimum(y) })
  case "maximum_i64":
    return ("x.maximum(y)", { x, y, z in x.maximum(y) })
  case "iadd_tensor_broadcast":
    return ("r = x.clone(); r += y", { x, y, z in let r = x.clone(); r += y; return r })
  case "isub_tensor":
    return ("r = x.clone(); r -= y", { x, y, z in let r = x.clone(); r -= y; return r })
  case "imul_tensor":
    return ("r = x.clone(); r *= y", { x, y, z in let r = x.clone(); r *= y; return r })
  case "idiv_tensor":
    return ("r = x.clone(); r /= y", { x, y, z in let r = x.clone(); r /= y; return r })
  case "iadd_double":
    return ("r = x.clone(); r += 1.5", { x, y, z in let r = x.clone(); r += 1.5; return r })
  case "isub_double":
    return ("r = x.clone(); r -= 1.5", { x, y, z in let r = x.clone(); r -= 1.5; return r })
  case "imul_float":
    return ("r = x.clone(); r *= Float(2)", { x, y, z in let r = x.clone(); r *= Float(2); return r })
  case "idiv_double":
    return ("r = x.clone(); r /= 8.0", { x, y, z in let r = x.clone(); r /= 8.0; return r })
  case "iadd_int_i64":
    return ("r = x.clone(); r += 1", { x, y, z in let r = x.clone(); r += 1; return r })
  case "imul_int_i64":
    return ("r = x.clone(); r *= Int(-3)", { x, y, z in let r = x.clone(); r *= Int(-3); return r })
  case "isub_int_i64":
    return ("r = x.clone(); r -= Int(4)", { x, y, z in let r = x.clone(); r -= Int(4); return r })
  case "eq_broadcast":
    return ("x .== y", { x, y, z in x .== y })
  case "ne_broadcast":
    return ("x .!= y", { x, y, z in x .!= y })
  case "lt_broadcast":
    return ("x .< y", { x, y, z in x .< y })
  case "le_broadcast":
    return ("x .<= y", { x, y, z in x .<= y })
  case "gt_broadcast":
    return ("x .> y", { x, y, z in x .> y })
  case "ge_broadcast":
    return ("x .>= y", { x, y, z in x .>= y })
  case "lt_double":
    return ("x .< 0.5", { x, y, z in x .< 0.5 })
  case "ge_double":
    return ("x .>= 1.0", { x, y, z in x .>= 1.0 })
  case "eq_double":
    return ("x .== 0.0", { x, y, z in x .== 0.0 })
  case "ne_double":
    return ("x .!= 2.0", { x, y, z in x .!= 2.0 })
  case "le_double":
    return ("x .<= -1.0", { x, y, z in x .<= -1.0 })
  case "gt_double":
    return ("x .> 0.0", { x, y, z in x .> 0.0 })
  case "eq_i64":
    return ("x .== y", { x, y, z in x .== y })
  case "gt_i64_double":
    return ("x .> 0.5", { x, y, z in x .> 0.5 })
  case "compare_method_le":
    return ("x.compare(.le, y)", { x, y, z in x.compare(.le, y) })
  case "eq_nan":
    return ("x .== y", { x, y, z in x .== y })
  case "ne_nan":
    return ("x .!= y", { x, y, z in x .!= y })
  case "eq_bool":
    return ("x .== y", { x, y, z in x .== y })
  case "exp":
    return ("x.exp()", { x, y, z in x.exp() })
  case "log":
    return ("x.log()", { x, y, z in x.log() })
  case "log_edge":
    return ("x.log()", { x, y, z in x.log() })
  case "sqrt":
    return ("x.sqrt()", { x, y, z in x.sqrt() })
  case "rsqrt":
    return ("x.rsqrt()", { x, y, z in x.rsqrt() })
  case "tanh":
    return ("x.tanh()", { x, y, z in x.tanh() })
  case "sigmoid":
    return ("x.sigmoid()", { x, y, z in x.sigmoid() })
  case "sin":
    return ("x.sin()", { x, y, z in x.sin() })
  case "cos":
    return ("x.cos()", { x, y, z in x.cos() })
  case "erf":
    return ("x.erf()", { x, y, z in x.erf() })
  case "floor":
    return ("x.floor()", { x, y, z in x.floor() })
  case "ceil":
    return ("x.ceil()", { x, y, z in x.ceil() })
  case "abs":
    return ("x.abs()", { x, y, z in x.abs() })
  case "neg":
    return ("x.neg()", { x, y, z in x.neg() })
  case "relu":
    return ("x.relu()", { x, y, z in x.relu() })
  case "gelu":
    return ("x.gelu()", { x, y, z in x.gelu() })
  case "gelu_f64":
    return ("x.gelu()", { x, y, z in x.gelu() })
  case "sqrt_f64":
    return ("x.sqrt()", { x, y, z in x.sqrt() })
  case "exp_f64":
    return ("x.exp()", { x, y, z in x.exp() })
  case "exp_i64_promotes_f32":
    return ("x.exp()", { x, y, z in x.exp() })
  case "sqrt_i64_promotes_f32":
    return ("x.sqrt()", { x, y, z in x.sqrt() })
  case "gelu_i64_promotes_f32":
    return ("x.gelu()", { x, y, z in x.gelu() })
  case "abs_i64_stays_i64":
    return ("x.abs()", { x, y, z in x.abs() })
  case "neg_i32_stays_i32":
    return ("x.neg()", { x, y, z in x.neg() })
  case "relu_i64_stays_i64":
    return ("x.relu()", { x, y, z in x.relu() })
  case "logicalNot":
    return ("x.logicalNot()", { x, y, z in x.logicalNot() })
  case "to_i64_truncates":
    return ("x.to(.i64)", { x, y, z in x.to(.i64) })
  case "to_i32_from_f64":
    return ("x.to(.i32)", { x, y, z in x.to(.i32) })
  case "to_bool_from_f32":
    return ("x.to(.bool)", { x, y, z in x.to(.bool) })
  case "to_f64_from_f32":
    return ("x.to(.f64)", { x, y, z in x.to(.f64) })
  case "to_f32_from_i64":
    return ("x.to(.f32)", { x, y, z in x.to(.f32) })
  case "to_f32_from_bool":
    return ("x.to(.f32)", { x, y, z in x.to(.f32) })
  case "to_i64_from_bool":
    return ("x.to(.i64)", { x, y, z in x.to(.i64) })
  case "to_f32_from_f64_rounds":
    return ("x.to(.f32)", { x, y, z in x.to(.f32) })
  case "to_same_dtype":
    return ("x.to(.f32)", { x, y, z in x.to(.f32) })
  case "sum_all":
    return ("x.sum()", { x, y, z in x.sum() })
  case "sum_axis1":
    return ("x.sum(axis: 1)", { x, y, z in x.sum(axis: 1) })
  case "sum_axis_neg1_keepdims":
    return ("x.sum(axis: -1, keepDims: true)", { x, y, z in x.sum(axis: -1, keepDims: true) })
  case "sum_axes_0_2":
    return ("x.sum(axes: [0, 2])", { x, y, z in x.sum(axes: [0, 2]) })
  case "sum_axes_negative_keepdims":
    return ("x.sum(axes: [0, -1], keepDims: true)", { x, y, z in x.sum(axes: [0, -1], keepDims: true) })
  case "sum_axes_unsorted_duplicates":
    return ("x.sum(axes: [2, 0, -1])", { x, y, z in x.sum(axes: [2, 0, -1]) })
  case "sum_bool_counts_i64":
    return ("x.sum()", { x, y, z in x.sum() })
  case "sum_bool_axis_i64":
    return ("x.sum(axis: 1)", { x, y, z in x.sum(axis: 1) })
  case "sum_i64_axis0":
    return ("x.sum(axis: 0)", { x, y, z in x.sum(axis: 0) })
  case "mean_all":
    return ("x.mean()", { x, y, z in x.mean() })
  case "mean_axis0":
    return ("x.mean(axis: 0)", { x, y, z in x.mean(axis: 0) })
  case "mean_axis_neg2":
    return ("x.mean(axis: -2)", { x, y, z in x.mean(axis: -2) })
  case "mean_axes_keepdims":
    return ("x.mean(axes: [1, 2], keepDims: true)", { x, y, z in x.mean(axes: [1, 2], keepDims: true) })
  case "mean_axis_keepdims":
    return ("x.mean(axis: 2, keepDims: true)", { x, y, z in x.mean(axis: 2, keepDims: true) })
  case "mean_f64":
    return ("x.mean(axis: 1)", { x, y, z in x.mean(axis: 1) })
  case "max_all":
    return ("x.max()", { x, y, z in x.max() })
  case "max_axis":
    return ("x.max(axis: 1)", { x, y, z in x.max(axis: 1) })
  case "max_axis_neg_keepdims":
    return ("x.max(axis: -1, keepDims: true)", { x, y, z in x.max(axis: -1, keepDims: true) })
  case "max_axes":
    return ("x.max(axes: [0, 1])", { x, y, z in x.max(axes: [0, 1]) })
  case "min_all":
    return ("x.min()", { x, y, z in x.min() })
  case "min_axis0":
    return ("x.min(axis: 0)", { x, y, z in x.min(axis: 0) })
  case "min_axes_keepdims":
    return ("x.min(axes: [-1, 0], keepDims: true)", { x, y, z in x.min(axes: [-1, 0], keepDims: true) })
  case "max_i64":
    return ("x.max(axis: 1)", { x, y, z in x.max(axis: 1) })
  case "min_i64_all":
    return ("x.min()", { x, y, z in x.min() })
  case "max_nan_propagates":
    return ("x.max(axis: 1)", { x, y, z in x.max(axis: 1) })
  case "sum_of_transposed_view":
    return ("x.t().sum(axis: 0)", { x, y, z in x.t().sum(axis: 0) })
  case "argmax_flat":
    return ("x.argmax()", { x, y, z in x.argmax() })
  case "argmin_flat":
    return ("x.argmin()", { x, y, z in x.argmin() })
  case "argmax_axis":
    return ("x.argmax(axis: 1)", { x, y, z in x.argmax(axis: 1) })
  case "argmax_axis_neg_keepdims":
    return ("x.argmax(axis: -1, keepDims: true)", { x, y, z in x.argmax(axis: -1, keepDims: true) })
  case "argmin_axis0":
    return ("x.argmin(axis: 0)", { x, y, z in x.argmin(axis: 0) })
  case "argmin_axis_neg2":
    return ("x.argmin(axis: -2)", { x, y, z in x.argmin(axis: -2) })
  case "argmax_ties_first":
    return ("x.argmax()", { x, y, z in x.argmax() })
  case "argmin_ties_first":
    return ("x.argmin()", { x, y, z in x.argmin() })
  case "argmax_of_transposed":
    return ("x.t().argmax()", { x, y, z in x.t().argmax() })
  case "argmax_of_transposed_axis":
    return ("x.t().argmax(axis: 1)", { x, y, z in x.t().argmax(axis: 1) })
  case "softmax_axis1":
    return ("x.softmax(axis: 1)", { x, y, z in x.softmax(axis: 1) })
  case "softmax_axis0":
    return ("x.softmax(axis: 0)", { x, y, z in x.softmax(axis: 0) })
  case "softmax_default_last_axis":
    return ("x.softmax()", { x, y, z in x.softmax() })
  case "softmax_axis_neg2":
    return ("x.softmax(axis: -2)", { x, y, z in x.softmax(axis: -2) })
  case "softmax_large_values_stable":
    return ("x.softmax(axis: 1)", { x, y, z in x.softmax(axis: 1) })
  case "softmax_f64":
    return ("x.softmax(axis: 0)", { x, y, z in x.softmax(axis: 0) })
  case "logSoftmax":
    return ("x.logSoftmax()", { x, y, z in x.logSoftmax() })
  case "logSoftmax_axis0":
    return ("x.logSoftmax(axis: 0)", { x, y, z in x.logSoftmax(axis: 0) })
  case "logSoftmax_large_values_stable":
    return ("x.logSoftmax(axis: -1)", { x, y, z in x.logSoftmax(axis: -1) })
  case "matmul_2d_2d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "mm":
    return ("x.mm(y)", { x, y, z in x.mm(y) })
  case "matmul_1d_2d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_2d_1d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_1d_1d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_batched_3d_2d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_batch_broadcast_4d_3d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_1d_3d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_3d_1d":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_i64":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_promotes_i64_f32":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "matmul_transposed_view":
    return ("x.t().matmul(y)", { x, y, z in x.t().matmul(y) })
  case "matmul_f64":
    return ("x.matmul(y)", { x, y, z in x.matmul(y) })
  case "where_broadcast":
    return ("Tensor.where(x, y, z)", { x, y, z in Tensor.where(x, y, z) })
  case "where_from_compare":
    return ("Tensor.where(x .> 0.0, x, y)", { x, y, z in Tensor.where(x .> 0.0, x, y) })
  case "where_promotes_i64_f32":
    return ("Tensor.where(x, y, z)", { x, y, z in Tensor.where(x, y, z) })
  case "where_float_condition":
    return ("Tensor.where(x, y, z)", { x, y, z in Tensor.where(x, y, z) })
  case "cat_axis0":
    return ("Tensor.cat([x, y])", { x, y, z in Tensor.cat([x, y]) })
  case "cat_axis1_three":
    return ("Tensor.cat([x, y, z], axis: 1)", { x, y, z in Tensor.cat([x, y, z], axis: 1) })
  case "cat_axis_neg1":
    return ("Tensor.cat([x, y], axis: -1)", { x, y, z in Tensor.cat([x, y], axis: -1) })
  case "cat_of_views":
    return ("Tensor.cat([x.t(), y[.all, 1...].t()], axis: 0)", { x, y, z in Tensor.cat([x.t(), y[.all, 1...].t()], axis: 0) })
  case "cat_single":
    return ("Tensor.cat([x])", { x, y, z in Tensor.cat([x]) })
  case "stack_axis0":
    return ("Tensor.stack([x, y])", { x, y, z in Tensor.stack([x, y]) })
  case "stack_axis1":
    return ("Tensor.stack([x, y, z], axis: 1)", { x, y, z in Tensor.stack([x, y, z], axis: 1) })
  case "stack_axis2":
    return ("Tensor.stack([x, y], axis: 2)", { x, y, z in Tensor.stack([x, y], axis: 2) })
  case "stack_axis_neg1":
    return ("Tensor.stack([x, y], axis: -1)", { x, y, z in Tensor.stack([x, y], axis: -1) })
  case "stack_axis_neg3":
    return ("Tensor.stack([x, y], axis: -3)", { x, y, z in Tensor.stack([x, y], axis: -3) })
  case "stack_1d":
    return ("Tensor.stack([x, y])", { x, y, z in Tensor.stack([x, y]) })
  case "stack_of_transposed_views":
    return ("Tensor.stack([x.t(), y.t()], axis: 1)", { x, y, z in Tensor.stack([x.t(), y.t()], axis: 1) })
  case "view_2x3":
    return ("x.view(2, 3)", { x, y, z in x.view(2, 3) })
  case "view_array_form":
    return ("x.view([3, 2])", { x, y, z in x.view([3, 2]) })
  case "view_infer":
    return ("x.view([3, -1])", { x, y, z in x.view([3, -1]) })
  case "view_to_scalar":
    return ("x.view([])", { x, y, z in x.view([]) })
  case "reshape_contiguous":
    return ("x.reshape(4, 3)", { x, y, z in x.reshape(4, 3) })
  case "reshape_noncontiguous_copies":
    return ("x.t().reshape(2, 6)", { x, y, z in x.t().reshape(2, 6) })
  case "reshape_infer":
    return ("x.reshape([-1, 2])", { x, y, z in x.reshape([-1, 2]) })
  case "flattened":
    return ("x.flattened()", { x, y, z in x.flattened() })
  case "flattened_transposed":
    return ("x.transpose(0, 1).flattened()", { x, y, z in x.transpose(0, 1).flattened() })
  case "permute":
    return ("x.permute(2, 0, 1)", { x, y, z in x.permute(2, 0, 1) })
  case "permute_negative":
    return ("x.permute([0, -1, 1])", { x, y, z in x.permute([0, -1, 1]) })
  case "permute_twice":
    return ("x.permute(2, 0, 1).permute(1, 2, 0)", { x, y, z in x.permute(2, 0, 1).permute(1, 2, 0) })
  case "transpose":
    return ("x.transpose(0, 2)", { x, y, z in x.transpose(0, 2) })
  case "transpose_negative":
    return ("x.transpose(-1, -2)", { x, y, z in x.transpose(-1, -2) })
  case "transpose_then_contiguous":
    return ("x.transpose(0, 1).contiguous()", { x, y, z in x.transpose(0, 1).contiguous() })
  case "t":
    return ("x.t()", { x, y, z in x.t() })
  case "t_1d_unchanged":
    return ("x.t()", { x, y, z in x.t() })
  case "t_t_roundtrip":
    return ("x.t().t()", { x, y, z in x.t().t() })
  case "unsqueeze0":
    return ("x.unsqueeze(0)", { x, y, z in x.unsqueeze(0) })
  case "unsqueeze_middle":
    return ("x.unsqueeze(1)", { x, y, z in x.unsqueeze(1) })
  case "unsqueeze_neg1":
    return ("x.unsqueeze(-1)", { x, y, z in x.unsqueeze(-1) })
  case "unsqueeze_of_transposed":
    return ("x.t().unsqueeze(1)", { x, y, z in x.t().unsqueeze(1) })
  case "squeeze_all":
    return ("x.squeeze()", { x, y, z in x.squeeze() })
  case "squeeze_axis":
    return ("x.squeeze(2)", { x, y, z in x.squeeze(2) })
  case "squeeze_axis_negative":
    return ("x.squeeze(-4)", { x, y, z in x.squeeze(-4) })
  case "squeeze_non1_axis_is_noop":
    return ("x.squeeze(1)", { x, y, z in x.squeeze(1) })
  case "expand":
    return ("x.expand(3, 4)", { x, y, z in x.expand(3, 4) })
  case "expand_new_leading_dims":
    return ("x.expand([2, 3, 4])", { x, y, z in x.expand([2, 3, 4]) })
  case "expand_1d_to_2d":
    return ("x.expand(2, 3)", { x, y, z in x.expand(2, 3) })
  case "expand_then_add":
    return ("x.expand(2, 3) + y", { x, y, z in x.expand(2, 3) + y })
  case "expand_then_contiguous":
    return ("x.expand(2, 3).contiguous()", { x, y, z in x.expand(2, 3).contiguous() })
  case "contiguous_noop":
    return ("x.contiguous()", { x, y, z in x.contiguous() })
  case "clone":
    return ("x.clone()", { x, y, z in x.clone() })
  case "clone_of_view":
    return ("x.t().clone()", { x, y, z in x.t().clone() })
  case "index_int":
    return ("x[1]", { x, y, z in x[1] })
  case "index_negative":
    return ("x[-1]", { x, y, z in x[-1] })
  case "index_two_ints":
    return ("x[1, 2]", { x, y, z in x[1, 2] })
  case "index_two_negative":
    return ("x[-1, -2]", { x, y, z in x[-1, -2] })
  case "slice_range":
    return ("x[0..<2]", { x, y, z in x[0..<2] })
  case "slice_from":
    return ("x[1...]", { x, y, z in x[1...] })
  case "slice_upto":
    return ("x[..<2]", { x, y, z in x[..<2] })
  case "slice_through":
    return ("x[...1]", { x, y, z in x[...1] })
  case "slice_closed":
    return ("x[1...2]", { x, y, z in x[1...2] })
  case "slice_negative_from":
    return ("x[(-2)...]", { x, y, z in x[(-2)...] })
  case "slice_upto_negative":
    return ("x[..<(-1)]", { x, y, z in x[..<(-1)] })
  case "slice_through_negative_last":
    return ("x[...(-1)]", { x, y, z in x[...(-1)] })
  case "slice_closed_negative":
    return ("x[(-3)...(-2)]", { x, y, z in x[(-3)...(-2)] })
  case "slice_closed_negative_to_last":
    return ("x[(-2)...(-1)]", { x, y, z in x[(-2)...(-1)] })
  case "slice_clamps_out_of_range":
    return ("x[1..<100]", { x, y, z in x[1..<100] })
  case "slice_empty":
    return ("x[2..<2]", { x, y, z in x[2..<2] })
  case "index_all_column":
    return ("x[.all, 2]", { x, y, z in x[.all, 2] })
  case "index_all_column_negative":
    return ("x[.all, -1]", { x, y, z in x[.all, -1] })
  case "slice_columns":
    return ("x[.all, 1..<3]", { x, y, z in x[.all, 1..<3] })
  case "slice_step":
    return ("x[.stride(0..<6, by: 2)]", { x, y, z in x[.stride(0..<6, by: 2)] })
  case "slice_step_from":
    return ("x[.stride(from: 1, by: 3)]", { x, y, z in x[.stride(from: 1, by: 3)] })
  case "slice_step_uneven":
    return ("x[.stride(1..<8, by: 3)]", { x, y, z in x[.stride(1..<8, by: 3)] })
  case "slice_2d_mixed":
    return ("x[1..<3, .stride(from: 0, by: 2)]", { x, y, z in x[1..<3, .stride(from: 0, by: 2)] })
  case "slice_of_slice":
    return ("x[1...][.all, 1...]", { x, y, z in x[1...][.all, 1...] })
  case "slice_step_of_step":
    return ("x[.stride(from: 1, by: 2)][.stride(from: 0, by: 2)]", { x, y, z in x[.stride(from: 1, by: 2)][.stride(from: 0, by: 2)] })
  case "index_of_transposed":
    return ("x.t()[1]", { x, y, z in x.t()[1] })
  case "slice_of_expanded":
    return ("x.expand(4, 3)[1..<3, 1]", { x, y, z in x.expand(4, 3)[1..<3, 1] })
  case "index_into_3d":
    return ("x[1, .all, 0]", { x, y, z in x[1, .all, 0] })
  case "set_row_tensor":
    return ("r = x.clone(); r[1] = y", { x, y, z in let r = x.clone(); r[1] = y; return r })
  case "set_row_negative_index":
    return ("r = x.clone(); r[-1] = y", { x, y, z in let r = x.clone(); r[-1] = y; return r })
  case "set_element_double":
    return ("r = x.clone(); r[0, 2] = 9.5", { x, y, z in let r = x.clone(); r[0, 2] = 9.5; return r })
  case "set_row_int":
    return ("r = x.clone(); r[1] = 7", { x, y, z in let r = x.clone(); r[1] = 7; return r })
  case "set_range_column_tensor":
    return ("r = x.clone(); r[0..<2, 1] = y", { x, y, z in let r = x.clone(); r[0..<2, 1] = y; return r })
  case "set_range_column_double":
    return ("r = x.clone(); r[0..<2, 1] = -4.0", { x, y, z in let r = x.clone(); r[0..<2, 1] = -4.0; return r })
  case "set_all_column_int":
    return ("r = x.clone(); r[.all, 0] = 5", { x, y, z in let r = x.clone(); r[.all, 0] = 5; return r })
  case "set_broadcast_row_into_block":
    return ("r = x.clone(); r[1...] = y", { x, y, z in let r = x.clone(); r[1...] = y; return r })
  case "set_strided":
    return ("r = x.clone(); r[.stride(0..<6, by: 2)] = y", { x, y, z in let r = x.clone(); r[.stride(0..<6, by: 2)] = y; return r })
  case "set_through_transposed_view":
    return ("r = x.clone(); r.t()[0] = y", { x, y, z in let r = x.clone(); r.t()[0] = y; return r })
  case "assign_broadcast":
    return ("r = x.clone(); r[1..<3].assign(y)", { x, y, z in let r = x.clone(); r[1..<3].assign(y); return r })
  case "assign_converts_dtype":
    return ("r = x.clone(); r[2].assign(y)", { x, y, z in let r = x.clone(); r[2].assign(y); return r })
  case "assign_f32_into_i64_truncates":
    return ("r = x.clone(); r[0].assign(y)", { x, y, z in let r = x.clone(); r[0].assign(y); return r })
  case "fill":
    return ("r = x.clone(); r.fill(2.5)", { x, y, z in let r = x.clone(); r.fill(2.5); return r })
  case "fill_column_view":
    return ("r = x.clone(); r[.all, 1].fill(0)", { x, y, z in let r = x.clone(); r[.all, 1].fill(0); return r })
  case "fill_strided_rows":
    return ("r = x.clone(); r[.stride(from: 0, by: 2)].fill(-1)", { x, y, z in let r = x.clone(); r[.stride(from: 0, by: 2)].fill(-1); return r })
  case "fill_i64_truncates":
    return ("r = x.clone(); r[.all, 2].fill(3.7)", { x, y, z in let r = x.clone(); r[.all, 2].fill(3.7); return r })
  case "set_double_into_f64_keeps_precision":
    return ("r = x.clone(); r[0] = 0.1", { x, y, z in let r = x.clone(); r[0] = 0.1; return r })
  case "fill_f64_keeps_precision":
    return ("r = x.clone(); r.fill(0.1)", { x, y, z in let r = x.clone(); r.fill(0.1); return r })
  case "iadd_through_view_visible_in_base":
    return ("r = x.clone(); let v = r.view(12); v += 1.0", { x, y, z in let r = x.clone(); let v = r.view(12); v += 1.0; return r })
  case "item_float":
    return ("Tensor(scalar: x[1, 1].item() as Float)", { x, y, z in Tensor(scalar: x[1, 1].item() as Float) })
  case "item_as_int":
    return ("Tensor(scalar: x[2, 0].item(as: Int.self))", { x, y, z in Tensor(scalar: x[2, 0].item(as: Int.self)) })
  case "item_as_double_of_f32":
    return ("Tensor(scalar: x.sum().item(as: Double.self), dtype: .f64)", { x, y, z in Tensor(scalar: x.sum().item(as: Double.self), dtype: .f64) })
  case "item_of_one_element_2d":
    return ("Tensor(scalar: x.item() as Float)", { x, y, z in Tensor(scalar: x.item() as Float) })
  case "subscript_read_double":
    return ("Tensor(scalar: x[1, 2] as Double, dtype: .f64)", { x, y, z in Tensor(scalar: x[1, 2] as Double, dtype: .f64) })
  case "subscript_read_int":
    return ("Tensor(scalar: x[3, 1] as Int)", { x, y, z in Tensor(scalar: x[3, 1] as Int) })
  case "scalars_as_float_of_view":
    return ("Tensor(x.t().scalars(as: Float.self))", { x, y, z in Tensor(x.t().scalars(as: Float.self)) })
  case "scalars_as_int_truncates":
    return ("Tensor(x.scalars(as: Int.self))", { x, y, z in Tensor(x.scalars(as: Int.self)) })
  case "scalars_as_bool":
    return ("Tensor(x.scalars(as: Bool.self))", { x, y, z in Tensor(x.scalars(as: Bool.self)) })
  case "tensor_from_double_array_f64":
    return ("Tensor([0.1, 0.2, 0.3], dtype: .f64)", { x, y, z in Tensor([0.1, 0.2, 0.3], dtype: .f64) })
  case "tensor_from_double_literals_2d":
    return ("Tensor([[0.1, 1.5], [-2.5, 1e-3]])", { x, y, z in Tensor([[0.1, 1.5], [-2.5, 1e-3]]) })
  case "tensor_from_ints_as_f32":
    return ("Tensor([1, -2, 16777217], dtype: .f32)", { x, y, z in Tensor([1, -2, 16777217], dtype: .f32) })
  case "tensor_scalar_double_is_f32":
    return ("Tensor(scalar: 0.1)", { x, y, z in Tensor(scalar: 0.1) })
  case "tensor_scalar_double_f64":
    return ("Tensor(scalar: 0.1, dtype: .f64)", { x, y, z in Tensor(scalar: 0.1, dtype: .f64) })
  case "full_double_is_f32":
    return ("Tensor.full([2], 7.0)", { x, y, z in Tensor.full([2], 7.0) })
  case "int_true_div":
    return ("x / y", { x, y, z in x / y })
  case "int_div_method_true":
    return ("x.div(y)", { x, y, z in x.div(y) })
  case "int_true_div_scalar":
    return ("x / 2", { x, y, z in x / 2 })
  case "int_rdiv_scalar_true":
    return ("Int(20) / x", { x, y, z in Int(20) / x })
  case "i32_true_div":
    return ("x / y", { x, y, z in x / y })
  case "bool_true_div":
    return ("x / y", { x, y, z in x / y })
  case "int_div_by_f64_tensor":
    return ("x / y", { x, y, z in x / y })
  case "int_div_trunc_mode":
    return ("x.div(y, roundingMode: .trunc)", { x, y, z in x.div(y, roundingMode: .trunc) })
  case "int_div_floor_mode":
    return ("x.div(y, roundingMode: .floor)", { x, y, z in x.div(y, roundingMode: .floor) })
  case "int_div_trunc_scalar":
    return ("x.div(-2, roundingMode: .trunc)", { x, y, z in x.div(-2, roundingMode: .trunc) })
  case "int_floor_divide_scalar":
    return ("x.floorDivide(2)", { x, y, z in x.floorDivide(2) })
  case "i32_floor_divide":
    return ("x.floorDivide(y)", { x, y, z in x.floorDivide(y) })
  case "f32_div_trunc_mode":
    return ("x.div(y, roundingMode: .trunc)", { x, y, z in x.div(y, roundingMode: .trunc) })
  case "f32_div_floor_mode":
    return ("x.div(y, roundingMode: .floor)", { x, y, z in x.div(y, roundingMode: .floor) })
  case "pow_int_scalar":
    return ("x.pow(2)", { x, y, z in x.pow(2) })
  case "pow_int_scalar_zero":
    return ("x.pow(0)", { x, y, z in x.pow(0) })
  case "arange_pow":
    return ("Tensor.arange(4).pow(3)", { x, y, z in Tensor.arange(4).pow(3) })
  case "pow_int_tensor_negative_exponents":
    return ("x.pow(y)", { x, y, z in x.pow(y) })
  case "pow_i32_wraps":
    return ("x.pow(y)", { x, y, z in x.pow(y) })
  case "pow_bool_int_gives_i64":
    return ("x.pow(2)", { x, y, z in x.pow(2) })
  case "pow_f32_int_exponent":
    return ("x.pow(3)", { x, y, z in x.pow(3) })
  case "pow_int_float_exponent_gives_f32":
    return ("x.pow(0.5)", { x, y, z in x.pow(0.5) })
  case "iadd_int_into_f32":
    return ("r = x.clone(); r += 2", { x, y, z in let r = x.clone(); r += 2; return r })
  case "sum_i32_gives_i64":
    return ("x.sum(axis: -1)", { x, y, z in x.sum(axis: -1) })
  case "sum_i32_does_not_wrap":
    return ("x.sum()", { x, y, z in x.sum() })
  case "max_bool_keeps_bool":
    return ("x.max(axis: 1)", { x, y, z in x.max(axis: 1) })
  case "min_bool_keeps_bool":
    return ("x.min()", { x, y, z in x.min() })
  case "mean_of_i64_converted":
    return ("x.to(.f32).mean(axis: 1)", { x, y, z in x.to(.f32).mean(axis: 1) })
  default: return nil
  }
}

@Suite struct TensorOpTests {
  @Test(arguments: TensorFixtures.cases)
  func fixture(_ c: TensorOpCase) throws {
    let (text, call) = try #require(tensorCall(c.name), "no Swift call for fixture \(c.name)")
    #expect(text == c.call, "fixture \(c.name) calls `\(c.call)`, the test runs `\(text)`")
    let xs = c.inputs.map(tensor)
    let unused = Tensor.zeros([0])
    let args = xs + Array(repeating: unused, count: 3 - xs.count)
    let out = try withTensorErrors { call(args[0], args[1], args[2]) }
    let m = mismatch(out.array, c.output, rtol: c.rtol, atol: c.atol)
    #expect(m == nil, "\(c.name): `\(c.call)`: \(m ?? "")")
    // Calls that write work on clones: the inputs are untouched.
    for (x, before) in zip(xs, c.inputs) {
      #expect(mismatch(x.array, before, rtol: 0, atol: 0) == nil, "\(c.name) changed its inputs")
    }
  }

  @Test func fixtureFileIsComplete() {
    let cases = TensorFixtures.cases
    #expect(cases.count >= 314, "tensor_ops.json lost cases")
    #expect(Set(cases.map(\.name)).count == cases.count, "duplicate fixture names")
    // Every operation of the API appears in at least one call.
    let calls = cases.map(\.call).joined(separator: "\n")
    let api = [
      "Tensor([", "as [[Float]]", "as [[[Int]]]", "shape: [", "Tensor(scalar:", ".zeros(", ".ones(", ".full(",
      ".arange(", ".linspace(", ".eye(", ".randn(", ".rand(", ".randint(", "RandomGenerator(seed:",
      " + ", " - ", " * ", " / ", "-x", " += ", " -= ", " *= ", " /= ", " .== ", " .!= ", " .< ", " .<= ", " .> ",
      " .>= ", ".compare(", ".add(", ".sub(", ".mul(", ".div(", ".pow(", ".maximum(", ".minimum(", ".exp()",
      ".log()", ".sqrt()", ".rsqrt()", ".tanh()", ".sigmoid()", ".sin()", ".cos()", ".erf()", ".floor()",
      ".ceil()", ".abs()", ".neg()", ".relu()", ".gelu()", ".logicalNot()", ".to(", ".sum(", ".mean(",
      ".max(", ".min(", ".argmax(", ".argmin(", ".softmax(", ".logSoftmax(", ".matmul(", ".mm(",
      "Tensor.where(", "Tensor.cat(", "Tensor.stack(", ".view(", ".reshape(", ".flattened()", ".permute(",
      ".transpose(", ".t()", ".unsqueeze(", ".squeeze(", ".expand(", ".contiguous()", ".clone()", "[.all",
      "[.stride(", "...]", "..<", "...(", ".assign(", ".fill(", ".item(", ".item(as:", ".scalars(as:",
      "axis: -", "keepDims: true", "axes: [", ".floorDivide(", "roundingMode: .trunc", "roundingMode: .floor",
      "dtype: .f64)",
    ]
    for a in api { #expect(calls.contains(a), "no fixture calls \(a)") }
  }
}
