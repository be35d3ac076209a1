#include "ops/kernel_call.h"

namespace tml {

const KernelInfo& KernelInfoOf(tml_kernel_id id) {
  static const KernelInfo kNone{TML_K_NONE, "", ""};
  static const KernelInfo kList[] = {
#define TML_K_INFO(id, NAME, fn, params, shape) {TML_K_##NAME, #fn, #shape},
      TML_KERNEL_LIST(TML_K_INFO)
#undef TML_K_INFO
  };
  for (const KernelInfo& k : kList)
    if (k.id == id) return k;
  return kNone;
}

int KernelCall::ArrayAt(const void* p) const {
  if (!p) return -1;
  for (size_t i = 0; i < arrays.size(); ++i)
    if (arrays[i].data == p) return static_cast<int>(i);
  return -1;
}

const char* ParamsTypeName(const KernelParams& p) {
#define TML_PARAMS_NAME(type, LIST) , #type
  static const char* const kNames[] = {"" TML_PARAM_STRUCTS(TML_PARAMS_NAME)};
#undef TML_PARAMS_NAME
  return kNames[p.index()];
}

}  // namespace tml
