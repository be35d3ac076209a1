#include "fleet/device_link.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "package/package.h"

namespace tml {
namespace {

using Clock = std::chrono::steady_clock;

int ConnectOnce(const std::string& address, std::string* err) {
  if (address.rfind("unix:", 0) == 0) {
    const std::string path = address.substr(5);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
      *err = "socket path too long";
      return -1;
    }
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    *err = std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  if (address.rfind("tcp:", 0) == 0) {
    const std::string rest = address.substr(4);
    const size_t colon = rest.rfind(':');
    if (colon == std::string::npos) {
      *err = "expected tcp:HOST:PORT";
      return -1;
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(rest.substr(0, colon).c_str(), rest.substr(colon + 1).c_str(), &hints, &res) !=
        0) {
      *err = "cannot resolve host";
      return -1;
    }
    int fd = -1;
    for (addrinfo* p = res; p; p = p->ai_next) {
      fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, p->ai_protocol);
      if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) == 0) break;
      *err = std::strerror(errno);
      if (fd >= 0) close(fd);
      fd = -1;
    }
    freeaddrinfo(res);
    return fd;
  }
  *err = "address must be unix:PATH or tcp:HOST:PORT";
  return -2;
}

uint32_t Rd32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

template <typename T>
Result<T> As(const DeviceLink::Frame& f, uint8_t type) {
  if (f.type != type || f.payload.size() < sizeof(T))
    return Status::Errorf("device: expected message 0x{:02x} of {} bytes, got 0x{:02x} of {}", type,
                          sizeof(T), f.type, f.payload.size());
  T v;
  std::memcpy(&v, f.payload.data(), sizeof v);
  return v;
}

}  // namespace

const char* DeviceErrorName(int code) {
  static const char* const kNames[] = {"none",  "crc",     "version",  "oversize", "truncated",
                                       "type",  "replay",  "state",    "offset",   "too large",
                                       "flash", "package", "no model", "input",    "front end"};
  return code >= 0 && code < static_cast<int>(sizeof kNames / sizeof *kNames) ? kNames[code]
                                                                              : "unknown";
}

std::string DeviceErrorMessage(const std::vector<uint8_t>& payload) {
  if (payload.size() < sizeof(tml_proto_error)) return "malformed error reply";
  tml_proto_error e;
  std::memcpy(&e, payload.data(), sizeof e);
  switch (e.code) {
    case TML_E_PACKAGE:
      return "package refused: " + PackageStatusMessage(static_cast<int>(e.detail), 0);
    case TML_E_OFFSET:
      return fmt::format("offset (the device expects offset {})", e.detail);
    case TML_E_REPLAY:
      return fmt::format("replay (a sequence number not after {})", e.detail);
    case TML_E_TOO_LARGE:
      return fmt::format("too large (a slot holds {} bytes)", e.detail);
    case TML_E_INPUT:
      if (e.detail == 0) return "input (the sensor file holds no samples)";
      return fmt::format("input (the model takes {} bytes)", e.detail);
    case TML_E_FRONTEND:
      if (e.detail == 0)
        return "front end (streaming needs a model whose first layer is an attached front end)";
      if (e.detail == 1)
        return "front end (stream settings out of range, or the output is not 1..32 classes)";
      return fmt::format("front end (the stream needs {} bytes of arena beside the model)",
                         e.detail);
    case TML_E_STATE:
      return "state (nothing to do that with now)";
    default:
      return fmt::format("{} ({})", DeviceErrorName(e.code), e.detail);
  }
}

nlohmann::json HelloJson(const tml_proto_hello& h) {
  auto str = [](const char* p, size_t n) { return std::string(p, strnlen(p, n)); };
  static const char* const kStates[] = {"empty", "receiving", "ready",
                                        "trial", "confirmed", "standby"};
  nlohmann::json slots = nlohmann::json::array();
  for (const auto& s : h.slots)
    slots.push_back({{"state", s.state < 6 ? kStates[s.state] : "unknown"},
                     {"version", s.version},
                     {"bytes", s.bytes},
                     {"model_id", str(s.model_id, sizeof s.model_id)}});
  nlohmann::json isa = nlohmann::json::array();
  if (h.isa & TML_ISA_DSP) isa.push_back("dsp");
  if (h.isa & TML_ISA_FPU) isa.push_back("fpu");
  if (h.isa & TML_ISA_MVE) isa.push_back("mve");
  return {{"device_id", str(h.device_id, sizeof h.device_id)},
          {"core", str(h.core, sizeof h.core)},
          {"firmware", str(h.firmware, sizeof h.firmware)},
          {"isa", isa},
          {"clock_hz", h.clock_hz},
          {"ram_bytes", h.ram_bytes},
          {"flash_bytes", h.flash_bytes},
          {"arena_bytes", h.arena_bytes},
          {"scratch_bytes", h.scratch_bytes},
          {"slot_bytes", h.slot_bytes},
          {"package_format", h.package_format},
          {"kernel_abi", h.kernel_abi},
          {"protocol", h.protocol},
          {"opset", (uint64_t{h.opset_hi} << 32) | h.opset_lo},
          {"active_slot", h.active_slot < 2 ? nlohmann::json(h.active_slot) : nlohmann::json()},
          {"confirmed_version", h.confirmed_version},
          {"boots", h.boots},
          {"slots", slots}};
}

DeviceLink::DeviceLink(int fd) : fd_(fd), rx_(std::make_unique<tml_proto_rx>()) {
  tml_proto_rx_init(rx_.get());
}

DeviceLink::~DeviceLink() {
  if (fd_ >= 0) close(fd_);
}

Result<std::unique_ptr<DeviceLink>> DeviceLink::Connect(const std::string& address,
                                                        int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string err;
  for (;;) {
    const int fd = ConnectOnce(address, &err);
    if (fd >= 0) return std::unique_ptr<DeviceLink>(new DeviceLink(fd));
    if (fd == -2) return Status::Errorf("device address '{}': {}", address, err);
    if (Clock::now() >= deadline)
      return Status::Unavailable("device at {}: cannot connect ({})", address, err);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry: still starting
  }
}

Status DeviceLink::SendRaw(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = send(fd_, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::Unavailable("device link: write failed ({})", std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

Result<DeviceLink::Frame> DeviceLink::ReadFrame(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  uint8_t buf[512];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return Status::Unavailable("device link: no reply within {} ms", timeout_ms);
    pollfd p{fd_, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    // One byte at a time into the state machine, so bytes after a frame stay unread.
    const ssize_t n = recv(fd_, buf, 1, 0);
    if (n == 0) return Status::Unavailable("device link: the device closed the connection");
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable("device link: read failed ({})", std::strerror(errno));
    }
    switch (tml_proto_rx_byte(rx_.get(), buf[0])) {
      case TML_RX_FRAME: {
        Frame f;
        f.type = rx_->type;
        f.seq = rx_->seq;
        f.payload.assign(rx_->payload, rx_->payload + rx_->length);
        return f;
      }
      case TML_RX_ERROR:
        return Status::Errorf("device link: a damaged frame from the device ({})",
                              DeviceErrorName(rx_->error));
      default:
        break;
    }
  }
}

Result<DeviceLink::Frame> DeviceLink::Call(uint8_t type, const void* payload, size_t n,
                                           int timeout_ms) {
  const uint16_t seq = NextSeq();
  std::vector<uint8_t> frame(TML_PROTO_MAX_FRAME);
  const uint32_t len = tml_proto_encode(frame.data(), static_cast<uint32_t>(frame.size()), type,
                                        seq, payload, static_cast<uint32_t>(n));
  if (len == 0) return Status::Errorf("device link: a {}-byte payload does not fit a frame", n);
  refusal_ = TML_E_NONE;
  TML_RETURN_IF_ERROR(SendRaw(frame.data(), len));
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    TML_ASSIGN_OR_RETURN(Frame f, ReadFrame(static_cast<int>(std::max<int64_t>(left, 1))));
    if (f.type == TML_MSG_TELEMETRY || f.type == TML_MSG_CAPTURE || f.type == TML_MSG_SHADOW) {
      pushed_.push_back(std::move(f));
      continue;
    }
    if (f.seq != seq) continue;  // a late reply to an earlier request
    if (f.type == TML_MSG_ERROR) {
      tml_proto_error e{};
      std::memcpy(&e, f.payload.data(), std::min(f.payload.size(), sizeof e));
      refusal_ = e.code;
      return Status::FailedPrecondition("device refused: {}", DeviceErrorMessage(f.payload));
    }
    return f;
  }
}

std::vector<DeviceLink::Frame> DeviceLink::TakePushed() {
  return std::move(pushed_);
}

Result<tml_proto_hello> DeviceLink::Hello() {
  TML_ASSIGN_OR_RETURN(Frame f, Call(TML_MSG_HELLO, nullptr, 0));
  return As<tml_proto_hello>(f, TML_MSG_HELLO_INFO);
}

Status DeviceLink::SendPackage(const std::vector<uint8_t>& package, const Progress& progress,
                               size_t chunk_bytes) {
  if (package.size() < 64)
    return Status::Errorf("package: {} bytes is not a package", package.size());
  if (chunk_bytes == 0 || 4096 % chunk_bytes != 0 || chunk_bytes > TML_PROTO_MAX_PAYLOAD - 4)
    return Status::Errorf("device link: chunk size {} must divide 4096 and fit a frame",
                          chunk_bytes);
  // XFER_BEGIN names the package by its trailer's digest, so a resumed transfer is the
  // same package.
  TML_ASSIGN_OR_RETURN(size_t payload, PayloadBytes(package));
  uint8_t begin[40];
  const uint32_t total = static_cast<uint32_t>(package.size());
  std::memcpy(begin, &total, 4);
  std::memcpy(begin + 4, package.data() + 20, 4);  // model_version
  std::memcpy(begin + 8, package.data() + payload + 8, 32);
  TML_ASSIGN_OR_RETURN(Frame st, Call(TML_MSG_XFER_BEGIN, begin, sizeof begin));
  if (st.type != TML_MSG_XFER_STATE || st.payload.size() < 4)
    return Status::Errorf("device: unexpected reply 0x{:02x} to XFER_BEGIN", st.type);
  size_t offset = Rd32(st.payload.data());
  if (progress) progress(offset, package.size());  // where the device starts: 0, or resumes
  std::vector<uint8_t> chunk(4 + chunk_bytes);
  while (offset < package.size()) {
    const size_t n = std::min(chunk_bytes - offset % chunk_bytes, package.size() - offset);
    const uint32_t off = static_cast<uint32_t>(offset);
    std::memcpy(chunk.data(), &off, 4);
    std::memcpy(chunk.data() + 4, package.data() + offset, n);
    TML_ASSIGN_OR_RETURN(Frame r, Call(TML_MSG_XFER_CHUNK, chunk.data(), 4 + n));
    if (r.type != TML_MSG_XFER_STATE || r.payload.size() < 4)
      return Status::Errorf("device: unexpected reply 0x{:02x} to a chunk", r.type);
    offset = Rd32(r.payload.data());
    if (progress) progress(offset, package.size());
  }
  return Call(TML_MSG_XFER_END, nullptr, 0, 60000).status();
}

Status DeviceLink::Activate() {
  return Call(TML_MSG_ACTIVATE, nullptr, 0, 60000).status();
}
Status DeviceLink::Confirm() {
  return Call(TML_MSG_CONFIRM, nullptr, 0).status();
}
Status DeviceLink::Rollback() {
  return Call(TML_MSG_ROLLBACK, nullptr, 0, 60000).status();
}

Result<DeviceLink::Inference> DeviceLink::Infer(const std::vector<uint8_t>& input) {
  const size_t kPiece = TML_PROTO_MAX_PAYLOAD - 4;
  Result<Frame> reply = Status::Internal("no reply");
  if (input.size() <= TML_PROTO_MAX_PAYLOAD && !input.empty()) {
    reply = Call(TML_MSG_INFER, input.data(), input.size(), 60000);
  } else {  // larger than a frame: staged with INPUT frames, then run
    std::vector<uint8_t> piece(TML_PROTO_MAX_PAYLOAD);
    for (size_t off = 0; off < input.size(); off += kPiece) {
      const size_t n = std::min(kPiece, input.size() - off);
      const uint32_t o = static_cast<uint32_t>(off);
      std::memcpy(piece.data(), &o, 4);
      std::memcpy(piece.data() + 4, input.data() + off, n);
      TML_RETURN_IF_ERROR(Call(TML_MSG_INPUT, piece.data(), 4 + n).status());
    }
    reply = Call(TML_MSG_INFER, nullptr, 0, 60000);
  }
  TML_ASSIGN_OR_RETURN(Frame f, std::move(reply));
  TML_ASSIGN_OR_RETURN(tml_proto_result r, As<tml_proto_result>(f, TML_MSG_RESULT));
  Inference out;
  out.result = r;
  if (f.payload.size() == sizeof r + r.output_bytes)
    out.output.assign(f.payload.begin() + sizeof r, f.payload.end());
  return out;
}

namespace {

// The frames a device pushes during a SENSE run, in order: those set aside while waiting for
// the ACK, then new ones until the deadline (then nullptr).
class PushReader {
 public:
  PushReader(DeviceLink& link, int timeout_ms)
      : link_(link),
        frames_(link.TakePushed()),
        deadline_(Clock::now() + std::chrono::milliseconds(timeout_ms)) {}
  Result<const DeviceLink::Frame*> Next() {
    if (next_ == frames_.size()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return static_cast<const DeviceLink::Frame*>(nullptr);
      TML_ASSIGN_OR_RETURN(DeviceLink::Frame f, link_.ReadFrame(static_cast<int>(left)));
      frames_.push_back(std::move(f));
    }
    return &frames_[next_++];
  }

 private:
  DeviceLink& link_;
  std::vector<DeviceLink::Frame> frames_;
  size_t next_ = 0;
  Clock::time_point deadline_;
};

}  // namespace

Result<std::vector<DeviceLink::Sensed>> DeviceLink::Sense(uint32_t count, float capture_below,
                                                          bool shadow, int timeout_ms) {
  uint8_t req[12];
  const uint32_t flags = shadow ? TML_SENSE_SHADOW : 0;
  std::memcpy(req, &count, 4);
  std::memcpy(req + 4, &capture_below, 4);
  std::memcpy(req + 8, &flags, 4);
  // A self-test of the shadow package may come first.
  TML_RETURN_IF_ERROR(Call(TML_MSG_SENSE, req, sizeof req, shadow ? 60000 : 10000).status());
  std::vector<Sensed> out(count);
  PushReader pushed(*this, timeout_ms);
  size_t telemetry = 0, shadows = 0;
  auto complete = [&]() {
    if (telemetry < count || (shadow && shadows < count)) return false;
    for (const Sensed& s : out)
      if (s.captured && (s.capture.sample_bytes == 0 || s.sample.size() < s.capture.sample_bytes))
        return false;
    return true;
  };
  while (!complete()) {
    TML_ASSIGN_OR_RETURN(const Frame* next, pushed.Next());
    if (!next)
      return Status::Unavailable("device: {} of {} samples reported within {} ms", telemetry, count,
                                 timeout_ms);
    const Frame& f = *next;
    if (f.type == TML_MSG_TELEMETRY && f.payload.size() >= sizeof(tml_proto_telemetry)) {
      tml_proto_telemetry t;
      std::memcpy(&t, f.payload.data(), sizeof t);
      if (t.sample >= count) return Status::Errorf("device: telemetry for sample {}", t.sample);
      out[t.sample].telemetry = t;
      out[t.sample].captured = t.confidence < capture_below;
      ++telemetry;
    } else if (f.type == TML_MSG_SHADOW && f.payload.size() >= sizeof(tml_proto_shadow)) {
      tml_proto_shadow sh;
      std::memcpy(&sh, f.payload.data(), sizeof sh);
      if (sh.sample >= count)
        return Status::Errorf("device: shadow result for sample {}", sh.sample);
      out[sh.sample].shadow = sh;
      out[sh.sample].shadowed = true;
      ++shadows;
    } else if (f.type == TML_MSG_CAPTURE && f.payload.size() >= sizeof(tml_proto_capture)) {
      tml_proto_capture c;
      std::memcpy(&c, f.payload.data(), sizeof c);
      if (c.sample >= count || c.offset != out[c.sample].sample.size())
        return Status::Errorf("device: capture piece at {} of sample {} out of order", c.offset,
                              c.sample);
      out[c.sample].capture = c;
      out[c.sample].sample.insert(out[c.sample].sample.end(), f.payload.begin() + sizeof c,
                                  f.payload.end());
    }
  }
  return out;
}

Result<DeviceLink::Listened> DeviceLink::Listen(uint32_t count, const tml_proto_stream& settings,
                                                int timeout_ms) {
  uint8_t req[12 + sizeof settings];
  const float below = 0;
  const uint32_t flags = TML_SENSE_STREAM;
  std::memcpy(req, &count, 4);
  std::memcpy(req + 4, &below, 4);
  std::memcpy(req + 8, &flags, 4);
  std::memcpy(req + 12, &settings, sizeof settings);
  TML_RETURN_IF_ERROR(Call(TML_MSG_SENSE, req, sizeof req).status());
  Listened out;
  PushReader pushed(*this, timeout_ms);
  while (out.telemetry.size() < count) {  // a detection comes before its inference's telemetry
    TML_ASSIGN_OR_RETURN(const Frame* next, pushed.Next());
    if (!next)
      return Status::Unavailable("device: {} of {} inferences reported within {} ms",
                                 out.telemetry.size(), count, timeout_ms);
    const Frame& f = *next;
    if (f.type == TML_MSG_TELEMETRY && f.payload.size() >= sizeof(tml_proto_telemetry)) {
      tml_proto_telemetry t;
      std::memcpy(&t, f.payload.data(), sizeof t);
      if (t.sample != out.telemetry.size())
        return Status::Errorf("device: telemetry for inference {}, expected {}", t.sample,
                              out.telemetry.size());
      out.telemetry.push_back(t);
    } else if (f.type == TML_MSG_DETECTION && f.payload.size() >= sizeof(tml_proto_detection)) {
      tml_proto_detection d;
      std::memcpy(&d, f.payload.data(), sizeof d);
      if (d.sample != out.telemetry.size())
        return Status::Errorf("device: detection at inference {}, expected {}", d.sample,
                              out.telemetry.size());
      out.detections.push_back(d);
    }
  }
  return out;
}

Result<tml_proto_stats> DeviceLink::Stats() {
  TML_ASSIGN_OR_RETURN(Frame f, Call(TML_MSG_STATS, nullptr, 0));
  return As<tml_proto_stats>(f, TML_MSG_STATS_INFO);
}

std::optional<ActiveSlot> HelloActiveSlot(const nlohmann::json& hello) {
  if (!hello.is_object() || !hello.contains("active_slot") ||
      !hello["active_slot"].is_number_unsigned() || !hello.contains("slots") ||
      !hello["slots"].is_array())
    return std::nullopt;
  const size_t a = hello["active_slot"].get<size_t>();
  if (a >= hello["slots"].size() || !hello["slots"][a].is_object()) return std::nullopt;
  const nlohmann::json& s = hello["slots"][a];
  const auto text = [&](const char* k) {
    return s.contains(k) && s[k].is_string() ? s[k].get<std::string>() : std::string();
  };
  return ActiveSlot{
      a, text("model_id"), text("state"),
      s.contains("version") && s["version"].is_number() ? s["version"].get<int64_t>() : 0};
}

}  // namespace tml
