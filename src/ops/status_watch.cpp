#include "vidq/ops/status_watch.hpp"
#include "vidq/core/utc_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace vidq::ops {
namespace {

using enum job_state;

struct counts {
  std::int64_t ok = 0, failed = 0, cancelled = 0, running = 0, queued = 0, total = 0;
};

counts count(const store::batch_summary& b) {
  return {b.count(succeeded), b.count(job_state::failed), b.count(job_state::cancelled),
          b.count(submitting) + b.count(processing) + b.count(downloading), b.count(job_state::queued), b.total};
}

int percent_done(const counts& c) {
  if (c.total == 0) return 0;
  return static_cast<int>(100 * (c.ok + c.failed + c.cancelled) / c.total);  // floor: 100 only when all done
}

std::string utc(millis at) {
  return utc_text(at, "%Y-%m-%d %H:%M:%S");
}

// At most `columns` code points of `text`, padded with spaces to `columns` when `pad`.
// Cuts between code points only (CJK names are wider on screen; good enough here).
std::string fit(std::string_view text, std::size_t columns, bool pad = true) {
  std::string out;
  std::size_t points = 0;
  for (const char ch : text) {
    const bool lead = (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
    if (lead && points == columns) break;
    if (lead) ++points;
    out += ch;
  }
  if (pad) out.append(columns - points, ' ');
  return out;
}

// Counts with the bar's glyphs as labels: "#6 x1 >2 .11 of 20" ("-N" only when cancelled).
std::string stats_text(const counts& c) {
  std::string s = "#" + std::to_string(c.ok) + " x" + std::to_string(c.failed);
  if (c.cancelled) s += " -" + std::to_string(c.cancelled);
  s += " >" + std::to_string(c.running) + " ." + std::to_string(c.queued) + " of " + std::to_string(c.total);
  return s;
}

constexpr std::size_t name_columns = 20;

// name + " [" + bar + "] " + pct + "  " + stats; every bar of a frame has the same width
// so the percentages line up.
int bar_width_for(int width, std::size_t longest_stats) {
  const int fixed = static_cast<int>(name_columns + 2 + 2 + 4 + 2 + longest_stats);
  return std::clamp(width - fixed, 10, 60);
}

std::string bar_line(const std::string& name, const store::batch_summary& b, int bar_width) {
  const counts c = count(b);
  char pct[8];
  std::snprintf(pct, sizeof pct, "%3d%%", percent_done(c));
  // On a narrow terminal the frame cuts the line's end: the counts go first, the bar stays.
  return fit(name, name_columns) + " [" + progress_bar(b, bar_width) + "] " + pct + "  " + stats_text(c);
}

std::string plain_line(const std::string& stamp, const std::string& name, const store::batch_summary& b) {
  const counts c = count(b);
  return stamp + " batch=" + name + " total=" + std::to_string(c.total) + " succeeded=" + std::to_string(c.ok) +
         " failed=" + std::to_string(c.failed) + " cancelled=" + std::to_string(c.cancelled) +
         " running=" + std::to_string(c.running) + " queued=" + std::to_string(c.queued) +
         " done=" + std::to_string(percent_done(c)) + "%";
}

void add(store::batch_summary& into, const store::batch_summary& b) {
  into.total += b.total;
  into.cost += b.cost;
  for (std::size_t i = 0; i < std::size(all_job_states); ++i) into.by_state[i] += b.by_state[i];
}

}  // namespace

std::string progress_bar(const store::batch_summary& batch, int width) {
  const counts c = count(batch);
  const std::int64_t parts[] = {c.ok, c.failed, c.cancelled, c.running, c.queued};
  const char glyphs[] = {'#', 'x', '-', '>', '.'};
  std::string bar;
  bar.reserve(static_cast<std::size_t>(std::max(width, 0)));
  if (c.total <= 0 || width <= 0) return std::string(static_cast<std::size_t>(std::max(width, 0)), ' ');
  std::int64_t cumulative = 0;
  int drawn = 0;
  for (std::size_t i = 0; i < std::size(parts); ++i) {
    cumulative += parts[i];
    const int end = static_cast<int>(std::llround(static_cast<double>(cumulative) * width / static_cast<double>(c.total)));
    bar.append(static_cast<std::size_t>(std::max(end - drawn, 0)), glyphs[i]);
    drawn = std::max(drawn, end);
  }
  bar.resize(static_cast<std::size_t>(width), ' ');
  return bar;
}

std::string render_watch_frame(std::span<const store::batch_summary> batches, const watch_frame_options& o) {
  store::batch_summary total{"(all batches)"};
  for (const auto& b : batches) add(total, b);
  const std::string stamp = utc(o.now);
  std::string out;
  if (!o.tty) {
    for (const auto& b : batches) out += plain_line(stamp, b.batch, b) + "\n";
    out += plain_line(stamp, "*", total) + "\n";
    return out;
  }

  // Unfinished batches first (what an operator watches), then finished ones, each in
  // the store's order (by name).
  std::vector<const store::batch_summary*> order;
  for (const auto& b : batches) order.push_back(&b);
  std::stable_partition(order.begin(), order.end(), [](const store::batch_summary* b) {
    const counts c = count(*b);
    return c.running + c.queued > 0;
  });
  const std::size_t shown =
      o.max_batches > 0 ? std::min(order.size(), static_cast<std::size_t>(o.max_batches)) : order.size();

  const auto line = [&](const std::string& text) {
    out += (o.width > 0 ? fit(text, static_cast<std::size_t>(o.width), false) : text) + "\x1b[K\n";
  };
  std::vector<const store::batch_summary*> rows(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(shown));
  store::batch_summary rest{"(" + std::to_string(order.size() - shown) + " more)"};
  for (std::size_t i = shown; i < order.size(); ++i) add(rest, *order[i]);
  if (shown < order.size()) rows.push_back(&rest);
  if (!batches.empty()) rows.push_back(&total);
  std::size_t longest = 0;
  for (const auto* b : rows) longest = std::max(longest, stats_text(count(*b)).size());
  const int bar_width = bar_width_for(o.width, longest);

  out += "\x1b[H";
  line("vidq status  " + stamp + " UTC   #ok xfailed -cancelled >running .queued");
  for (const auto* b : rows) line(bar_line(b->batch, *b, bar_width));
  if (batches.empty()) line("no jobs yet");
  out += "\x1b[J";
  return out;
}

}  // namespace vidq::ops
