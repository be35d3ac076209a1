// Evaluation on a device is compared with the host sample by sample: equal
// confusion matrices do not make equal outputs.
#include "app/evaluate.h"

#include <gtest/gtest.h>

#include "prepare/builder.h"

namespace tml {
namespace {

TEST(Evaluate, KeptOutputsAreComparedSampleBySample) {
  GraphBuilder b("softmax");
  int x = b.Input("x", DType::kFloat32, {1, 3});
  b.Output(b.Softmax(x));
  auto g = b.Finish();
  ASSERT_TRUE(g.ok());
  LabeledData d;
  d.shape = {3};
  for (int i = 0; i < 4; ++i) {
    d.x.insert(d.x.end(), {0.1f * static_cast<float>(i), 1.0f, -0.5f});
    d.y.push_back(1);
  }
  EvalOptions o;
  o.keep_outputs = true;
  auto host = EvaluateClassifier(*g, d, 3, o);
  ASSERT_TRUE(host.ok()) << host.status().message();
  ASSERT_EQ(host->outputs.size(), 4u * 3u * sizeof(float));
  EvalResult device = *host;
  std::string what;
  EXPECT_EQ(FirstDifferingSample(g->tensor(g->outputs[0]), d, *host, device, "cortex-m4", &what),
            -1);
  // Sample 2's last score changes a little: the same prediction, the same confusion
  // matrix, but not the same output.
  float* s2 = reinterpret_cast<float*>(device.outputs.data()) + 2 * 3;
  s2[2] += 1e-6f;
  EXPECT_EQ(device.confusion, host->confusion);
  EXPECT_EQ(FirstDifferingSample(g->tensor(g->outputs[0]), d, *host, device, "cortex-m4", &what),
            2);
  EXPECT_NE(what.find("sample 2 (label 1): output element 2 is"), std::string::npos) << what;
  EXPECT_NE(what.find("on cortex-m4"), std::string::npos) << what;
}

}  // namespace
}  // namespace tml
