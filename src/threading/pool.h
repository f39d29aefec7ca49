// One persistent pool of worker threads. parallel_for(n, fn) runs fn(task, worker) for task in
// [0, n) on the calling thread plus the workers; tasks are handed out from an atomic counter so
// uneven rows balance. Workers spin briefly after a job (decode issues hundreds of small jobs
// per token, and a sleep/wake costs tens of microseconds) and then sleep on a condition
// variable, so an idle pool costs nothing. Never more threads than asked; kernels never start
// threads. Not reentrant: one parallel_for at a time per pool.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {

// When the machine is oversubscribed, a worker preempted in the middle of a task holds up
// every join for a scheduler time slice (milliseconds, against tasks of microseconds), and two
// threads decode slower than one. The pool notices joins that wait far longer than any task
// and then runs jobs on the calling thread alone for a while, probing again later.
struct ContentionPolicy {
  double long_wait_s = 1e-3;   // a join waiting this long (plus 4 of the caller's average task
                               // times in that job) means a worker was preempted
  int strikes = 3;             // long waits within the last `window` jobs that trigger solo mode
  int window = 64;
  int64_t solo_jobs = 4096;    // jobs run on the calling thread alone before probing again,
  double solo_s = 0.25;        // or for this long, whichever ends first: a prompt's jobs take
                               // milliseconds each, and 4096 of them after one hiccup of the
                               // host would run a minute of prefill on one thread
};

class ThreadPool {
 public:
  using TaskFn = std::function<void(int64_t task, int worker)>;

  // n_threads counts the calling thread: n_threads = 1 runs everything inline.
  explicit ThreadPool(int n_threads, ContentionPolicy policy = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }
  // Jobs run on the calling thread alone because of contention, so far, and still to come
  // (diagnostics, tests).
  int64_t solo_jobs_run() const { return solo_total_; }
  int64_t solo_jobs_left() const { return solo_left_; }

  // Runs fn for every task; returns when all are done. worker is in [0, n_threads()).
  void parallel_for(int64_t n_tasks, const TaskFn& fn);

  // Number of hardware threads this process may use (sched affinity), at least 1.
  static int hardware_threads();

 private:
  void worker_main(int worker);
  int64_t run_tasks(int worker);  // returns how many tasks this thread ran
  void note_join(bool long_wait);

  int n_threads_;
  ContentionPolicy policy_;
  // Contention tracking, touched only by the thread calling parallel_for.
  uint64_t long_wait_bits_ = 0;  // one bit per recent job (bit 0 = newest): its join waited long
  int64_t solo_left_ = 0;
  std::chrono::steady_clock::time_point solo_until_{};
  int64_t solo_total_ = 0;
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
