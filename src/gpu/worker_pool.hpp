// WorkerPool: a few threads that run queued jobs, oldest first. The device gives it the
// driver's slowest call: on lavapipe, vkCreateComputePipelines turns SPIR-V into optimised NIR
// on the calling thread (~5-60 ms a pipeline), so a network's pipelines built one after another
// were most of its load time while every other core sat idle.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fusescope::gpu {

class WorkerPool {
 public:
  // 0 threads: as many as the machine has cores, at most kMaxThreads.
  explicit WorkerPool(std::size_t threads = 0);
  // Drops the jobs still queued, waits for the running ones: their owner may free what they
  // use right after (a Kernel still queued is never built, and knows it).
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // A job must not throw (it records its own failure where its owner will look).
  void post(std::function<void()> job);
  std::size_t thread_count() const { return threads_.size(); }

  static constexpr std::size_t kMaxThreads = 8;

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace fusescope::gpu
