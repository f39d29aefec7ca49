// One persistent pool of worker threads. parallel_for(n, fn) runs fn(task, worker) for task in
// [0, n) on the calling thread plus the workers; tasks are handed out from an atomic counter so
// uneven rows balance. Workers spin briefly after a job (decode issues hundreds of small jobs
// per token, and a sleep/wake costs tens of microseconds) and then sleep on a condition
// variable, so an idle pool costs nothing. Never more threads than asked; kernels never start
// threads. Not reentrant: one parallel_for at a time per pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {

class ThreadPool {
 public:
  using TaskFn = std::function<void(int64_t task, int worker)>;

  // n_threads counts the calling thread: n_threads = 1 runs everything inline.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Runs fn for every task; returns when all are done. worker is in [0, n_threads()).
  void parallel_for(int64_t n_tasks, const TaskFn& fn);

  // Number of hardware threads this process may use (sched affinity), at least 1.
  static int hardware_threads();

 private:
  void worker_main(int worker);
  void run_tasks(int worker);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_task_{0};
  std::atomic<int> active_{0};
  int64_t n_tasks_ = 0;
  const TaskFn* fn_ = nullptr;
  bool stop_ = false;
};

}  // namespace tern
