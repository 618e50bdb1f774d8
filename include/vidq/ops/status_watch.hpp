#pragma once
// `vidq status --watch`: one frame of per-batch progress bars, as a pure function of the
// batch counts, so the look is unit-tested and the CLI loop only queries, prints and sleeps.

#include "vidq/core/clock.hpp"
#include "vidq/store/job_store.hpp"

#include <span>
#include <string>

namespace vidq::ops {

struct watch_frame_options {
  int width = 80;      // terminal columns; every line of a tty frame fits in them
  int max_batches = 0; // tty: batches shown (the rest summed in one line); 0 = all
  bool tty = false;    // true: cursor-home redraw with erase codes; false: plain text lines
  millis now = 0;      // shown in the header (UTC)
};

// A frame:
//   tty   "\x1b[H" + header + one bar line per batch + a total line, each line ended by
//         "\x1b[K\n" (erase the rest of the old line), then "\x1b[J" (erase old lines below).
//         Bar: '#' succeeded, 'x' failed, '-' cancelled, '>' in flight, '.' queued; the
//         counts after it use the same glyphs ("#6 x1 >2 .11 of 20"). Unfinished batches
//         come first.
//   plain one "<time> batch=<name> total=.. succeeded=.. failed=.. cancelled=.. running=..
//         queued=.. done=NN%" line per batch and a "batch=*" total: no escape codes, for
//         logs and pipes.
std::string render_watch_frame(std::span<const store::batch_summary> batches, const watch_frame_options& options);

// The bar alone: exactly `width` characters, segments in the order above, sized so the
// boundaries are the rounded cumulative fractions (a segment never hides a whole job
// when the bar is wider than the batch).
std::string progress_bar(const store::batch_summary& batch, int width);

}  // namespace vidq::ops
