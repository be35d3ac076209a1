#include "zoo/streaming_models.h"

#include "prepare/builder.h"

namespace tml::zoo {

Result<Graph> SvdfKws(uint64_t seed) {
  GraphBuilder b("svdf_kws", seed);
  int x = b.Input("mfcc_frame", DType::kFloat32, {1, 10});
  x = b.Svdf(x, 64, 1, 49, Act::kRelu);
  x = b.Svdf(x, 32, 1, 8, Act::kRelu);
  b.Output(b.Softmax(b.Dense(x, 12)));
  return b.Finish();
}

}  // namespace tml::zoo
