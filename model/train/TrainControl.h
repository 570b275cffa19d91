#pragma once
// Stop and pause requests from another thread (a GUI's, or a signal handler's flag
// forwarded by the CLI). The trainer checks them before every update; a stop ends the run
// after writing a checkpoint it can be resumed from.

#include <atomic>

namespace prisma::train {

class TrainControl {
public:
  void requestStop() { stop_.store(true, std::memory_order_relaxed); }
  void setPaused(bool paused) { paused_.store(paused, std::memory_order_relaxed); }
  bool stopRequested() const { return stop_.load(std::memory_order_relaxed); }
  bool paused() const { return paused_.load(std::memory_order_relaxed); }

private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
};

}  // namespace prisma::train
