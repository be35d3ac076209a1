// Emulated sensors from a dataset: a split's samples encoded as a model takes them
// (int8 inputs quantized with the input's scale and zero point, as evaluate does),
// back to back, for a device to replay as its sensor (`tinymlaas emulate --sensor`).
//
//   SensorFileRequest q;  q.model = "fm_int8.onnx";  q.data = "fashion@3@test";
//   q.samples = 200;  q.output = "m4-1.sensor";
//   TML_ASSIGN_OR_RETURN(SensorFileOutcome r, WriteSensorFile(ws, q));
#pragma once

#include <string>
#include <vector>

#include "data/dataset_store.h"

namespace tml {

struct SensorFileRequest {
  std::string model;    // the model the device will run (its input decides the encoding)
  std::string data;     // DATASET[@VERSION][@SPLIT]; the test split by default
  int64_t samples = 0;  // 0: the whole split; else this many, spread evenly over it
  std::string output;
};

struct SensorFileOutcome {
  int64_t samples = 0, sample_bytes = 0;
  std::vector<int32_t> labels;  // each sample's class, in file order
  std::vector<std::string> classes;
};

Result<SensorFileOutcome> WriteSensorFile(Workspace& ws, const SensorFileRequest& q);

}  // namespace tml
