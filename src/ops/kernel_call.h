// A lowered op's kernel call as data: which runtime kernel, its parameter struct,
// its operands and the constant arrays it reads. The C code generator renders it as a
// statement of generated C; the model-package writer serializes it for the on-device
// runtime (runtime/package/). Both take the same call, so AOT code and packages run
// the same kernels with the same constants.
//
//   KernelCall k = lowered->Call(/*reference_kernels=*/false);
//   if (k.kernel != TML_K_NONE) k.Info().name;  // "tml_conv2d_s8_fast"
//
// Pointers in params and ConstArray point into the LoweredOp that made the call and
// are valid while it lives.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "graph/graph.h"
#include "tml_package.h"

namespace tml {

#define TML_PARAM_VARIANT_TYPE(type, LIST) , type
using KernelParams = std::variant<std::monostate TML_PARAM_STRUCTS(TML_PARAM_VARIANT_TYPE)>;
#undef TML_PARAM_VARIANT_TYPE

// A constant array the call reads: a parameter struct's pointer field or an operand.
struct ConstArray {
  std::string suffix;  // names it in generated code: prefix + "_" + suffix
  DType dtype = DType::kInt32;
  const void* data = nullptr;
  size_t count = 0;
  size_t bytes() const { return count * DTypeSize(dtype); }
};

struct CallArg {
  enum Kind { kInput, kOutput, kConst, kScratch };
  Kind kind = kInput;
  int index = 0;            // input / output number, or ConstArray number
  int64_t byte_offset = 0;  // kInput: into the tensor (a slice's start)
  static CallArg In(int k, int64_t offset = 0) { return {kInput, k, offset}; }
  static CallArg Out(int k = 0) { return {kOutput, k, 0}; }
  static CallArg Const(int k) { return {kConst, k, 0}; }
  static CallArg Scratch() { return {kScratch, 0, 0}; }
};

// What the kernel list says about one kernel (runtime/include/tml_package.h).
struct KernelInfo {
  tml_kernel_id id;
  const char* name;   // C function
  const char* shape;  // argument shape: "P2" ... "P5", "LIST", "COPY"
};
const KernelInfo& KernelInfoOf(tml_kernel_id id);

struct KernelCall {
  tml_kernel_id kernel = TML_K_NONE;  // none: nothing to run (an in-place view)
  KernelParams params;
  std::vector<CallArg> args;
  std::vector<ConstArray> arrays;

  const KernelInfo& Info() const { return KernelInfoOf(kernel); }
  // Adds a constant array and returns its number (for CallArg::Const).
  template <typename T>
  int Array(const std::string& suffix, const std::vector<T>& v) {
    arrays.push_back({suffix, DTypeOf<T>(), v.data(), v.size()});
    return static_cast<int>(arrays.size()) - 1;
  }
  // The array a parameter struct's pointer field points at; -1 for none.
  int ArrayAt(const void* p) const;

 private:
  template <typename T>
  static DType DTypeOf();
};

template <>
inline DType KernelCall::DTypeOf<int32_t>() {
  return DType::kInt32;
}
template <>
inline DType KernelCall::DTypeOf<int8_t>() {
  return DType::kInt8;
}
template <>
inline DType KernelCall::DTypeOf<float>() {
  return DType::kFloat32;
}

// Walks a parameter struct field by field (the lists in tml_params.h) with a visitor:
//   v.Int(name, int32_t)  v.Float(name, float)  v.Ptr(name, const void*)
//   v.Ints(name, const int32_t*, n)  v.Bytes(name, const uint8_t*, n)
//   v.Begin(name) ... v.End()  around a nested struct
#define TML_V_I(name) v.Int(#name, p.name);
#define TML_V_F(name) v.Float(#name, p.name);
#define TML_V_P(type, name) v.Ptr(#name, static_cast<const void*>(p.name));
#define TML_V_A(name, n) v.Ints(#name, p.name, n);
#define TML_V_B(name, n) v.Bytes(#name, p.name, n);
#define TML_V_S(type, name, LIST)                                \
  {                                                              \
    const auto& outer_ = p;                                      \
    {                                                            \
      const type& p = outer_.name;                               \
      v.Begin(#name);                                            \
      LIST(TML_V_I, TML_V_F, TML_V_P, TML_V_A, TML_V_B, TML_V_S) \
      v.End();                                                   \
    }                                                            \
  }
#define TML_VISIT_FIELDS(type, LIST)                           \
  template <class V>                                           \
  void VisitFields(const type& p, V& v) {                      \
    LIST(TML_V_I, TML_V_F, TML_V_P, TML_V_A, TML_V_B, TML_V_S) \
  }
TML_PARAM_STRUCTS(TML_VISIT_FIELDS)
#undef TML_VISIT_FIELDS
#undef TML_V_S
#undef TML_V_B
#undef TML_V_A
#undef TML_V_P
#undef TML_V_F
#undef TML_V_I

// The C type name of a parameter struct held by a KernelParams.
const char* ParamsTypeName(const KernelParams& p);

}  // namespace tml
