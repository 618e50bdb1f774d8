#pragma once
// The clock seam (STYLE.md §4). Everything that decides by time takes a clock so tests
// advance time by hand instead of sleeping. Times are milliseconds since the Unix epoch,
// the same unit the database stores (docs/DATA.md).

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vidq {

using millis = std::int64_t;  // Unix epoch milliseconds, or a duration in milliseconds

class clock {
 public:
  virtual ~clock() = default;
  virtual millis now() const = 0;
};

class system_clock final : public clock {
 public:
  millis now() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

// For tests: time moves only when told to.
class manual_clock final : public clock {
 public:
  explicit manual_clock(millis start = 1'700'000'000'000) : now_(start) {}
  millis now() const override { return now_.load(); }
  void advance(millis by) { now_ += by; }
  void set(millis to) { now_ = to; }

 private:
  std::atomic<millis> now_;
};

}  // namespace vidq
