#include "vidq/ops/status_watch.hpp"

#include <gtest/gtest.h>

namespace vidq::ops {
namespace {

store::batch_summary batch(std::string name, std::int64_t ok, std::int64_t failed, std::int64_t cancelled,
                           std::int64_t running, std::int64_t queued) {
  store::batch_summary b{std::move(name)};
  b.by_state[static_cast<int>(job_state::succeeded)] = ok;
  b.by_state[static_cast<int>(job_state::failed)] = failed;
  b.by_state[static_cast<int>(job_state::cancelled)] = cancelled;
  b.by_state[static_cast<int>(job_state::processing)] = running;
  b.by_state[static_cast<int>(job_state::queued)] = queued;
  b.total = ok + failed + cancelled + running + queued;
  return b;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out.push_back(text.substr(start, nl - start));
  }
  return out;
}

// Visible columns of a line: escape sequences removed, UTF-8 code points counted.
std::size_t columns(std::string_view line) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b') {
      while (i < line.size() && !std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
      continue;
    }
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

TEST(ProgressBar, SegmentsInOrderAndExactWidth) {
  EXPECT_EQ(progress_bar(batch("b", 5, 1, 0, 2, 2), 10), "#####x>>..");
  EXPECT_EQ(progress_bar(batch("b", 0, 0, 0, 0, 7), 8), "........");
  EXPECT_EQ(progress_bar(batch("b", 3, 0, 0, 0, 0), 8), "########");
  EXPECT_EQ(progress_bar(batch("b", 1, 0, 1, 0, 2), 8), "##--....");
  for (int width : {1, 7, 13, 40}) EXPECT_EQ(progress_bar(batch("b", 7, 3, 1, 5, 1000), width).size(), static_cast<std::size_t>(width));
}

TEST(ProgressBar, EmptyBatchIsBlank) { EXPECT_EQ(progress_bar(store::batch_summary{"b"}, 4), "    "); }

TEST(WatchFrame, PlainHasNoEscapeCodesAndOneLinePerBatchPlusTotal) {
  const std::vector batches{batch("spring", 5, 1, 0, 2, 12), batch("autumn", 3, 0, 1, 0, 0)};
  const auto text = render_watch_frame(batches, {.width = 80, .tty = false, .now = 1'700'000'000'000});
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  const auto l = lines(text);
  ASSERT_EQ(l.size(), 3u) << text;
  EXPECT_EQ(l[0], "2023-11-14 22:13:20 batch=spring total=20 succeeded=5 failed=1 cancelled=0 running=2 queued=12 done=30%");
  EXPECT_EQ(l[1], "2023-11-14 22:13:20 batch=autumn total=4 succeeded=3 failed=0 cancelled=1 running=0 queued=0 done=100%");
  EXPECT_EQ(l[2], "2023-11-14 22:13:20 batch=* total=24 succeeded=8 failed=1 cancelled=1 running=2 queued=12 done=41%");
}

TEST(WatchFrame, PercentIsFlooredSoHundredMeansAllDone) {
  const std::vector batches{batch("b", 199, 0, 0, 1, 0)};
  const auto text = render_watch_frame(batches, {.tty = false});
  EXPECT_NE(text.find("done=99%"), std::string::npos) << text;
}

TEST(WatchFrame, TtyRedrawsInPlaceWithUnfinishedBatchesFirst) {
  const std::vector batches{batch("a-done", 4, 0, 0, 0, 0), batch("b-busy", 1, 0, 0, 1, 2)};
  const auto text = render_watch_frame(batches, {.width = 100, .tty = true, .now = 0});
  EXPECT_TRUE(text.starts_with("\x1b[H")) << text;
  EXPECT_TRUE(text.ends_with("\x1b[J")) << text;
  const auto l = lines(text);
  ASSERT_EQ(l.size(), 4u) << text;  // header, two batches, total
  for (const auto& line : l) EXPECT_TRUE(line.ends_with("\x1b[K")) << line;
  EXPECT_NE(l[1].find("b-busy"), std::string::npos) << l[1];
  EXPECT_NE(l[1].find(" 25%  #1 x0 >1 .2 of 4"), std::string::npos) << l[1];
  EXPECT_NE(l[2].find("a-done"), std::string::npos) << l[2];
  EXPECT_NE(l[2].find("100%"), std::string::npos);
  EXPECT_NE(l[3].find("(all batches)"), std::string::npos);
}

TEST(WatchFrame, TtyLinesFitTheTerminalWidth) {
  const std::vector batches{batch("春季运动鞋广告-第一批-很长的名字-超过二十个字符", 123456, 2345, 12, 20, 98765),
                            batch("b", 1, 0, 0, 0, 0)};
  for (int width : {40, 60, 80, 132}) {
    const auto text = render_watch_frame(batches, {.width = width, .tty = true});
    for (const auto& line : lines(text)) EXPECT_LE(columns(line), static_cast<std::size_t>(width)) << width << ": " << line;
  }
}

TEST(WatchFrame, TtyFoldsBatchesBeyondTheScreenIntoOneLine) {
  std::vector<store::batch_summary> batches;
  for (int i = 0; i < 10; ++i) batches.push_back(batch("batch-" + std::to_string(i), 1, 0, 0, 0, 1));
  const auto text = render_watch_frame(batches, {.width = 120, .max_batches = 3, .tty = true});
  const auto l = lines(text);
  ASSERT_EQ(l.size(), 6u) << text;  // header, 3 batches, "(7 more)", total
  EXPECT_NE(l[4].find("(7 more)"), std::string::npos) << l[4];
  EXPECT_NE(l[4].find("of 14"), std::string::npos) << l[4];
  EXPECT_NE(l[5].find("of 20"), std::string::npos) << l[5];
}

TEST(WatchFrame, NoBatchesSaysSo) {
  const auto text = render_watch_frame({}, {.tty = true});
  EXPECT_NE(text.find("no jobs yet"), std::string::npos);
  EXPECT_NE(render_watch_frame({}, {.tty = false}).find("batch=* total=0"), std::string::npos);
}

}  // namespace
}  // namespace vidq::ops
