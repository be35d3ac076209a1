// Writes the generated model files the CLI tests use into a directory.
#include <fstream>
#include <iostream>

#include "fixtures.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  auto write = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    std::ofstream f(dir + "/" + name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
  };
  const bool ok = write("unsupported.tflite", tml::testing::UnsupportedOpsTflite()) &&
                  write("unsupported.onnx", tml::testing::UnsupportedOpsOnnx()) &&
                  write("tiny_fc.tflite", tml::testing::TinyFcTflite()) &&
                  write("svdf_int8.tflite", tml::testing::SvdfTflite(true, 3)) &&
                  write("lstm_16x8.tflite", tml::testing::LstmTflite(2, 3, 4, 1, 6, 5));
  return ok ? 0 : 1;
}
