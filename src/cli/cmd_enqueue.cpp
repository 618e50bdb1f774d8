#include "command.hpp"
#include "session.hpp"
#include "vidq/engine/routing.hpp"
#include "vidq/ingest/job_record.hpp"
#include "vidq/store/job_store.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>
#include <filesystem>

namespace vidq::cli {
namespace {

struct enqueue_options {
  std::string model;
  std::string prompt;
  std::vector<std::string> images;
  std::vector<std::string> params;  // k=v
  std::string batch = "default";
  std::string key;
  std::int64_t priority = 0;
  std::string account = "default";
};

void run_enqueue(context& ctx, const enqueue_options& o) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"model", o.model}, {"prompt", o.prompt}, {"batch", o.batch}, {"key", o.key},
      {"priority", std::to_string(o.priority)}, {"account", o.account}};
  if (o.images.size() == 1) fields.emplace_back("image_url", o.images.front());
  if (o.images.size() > 1) {
    boost::json::array array(o.images.begin(), o.images.end());
    fields.emplace_back("image_url", boost::json::serialize(array));
  }
  for (const auto& param : o.params) {
    const auto eq = param.find('=');
    if (eq == std::string::npos || eq == 0) {
      report_error("--param", "'" + param + "' is not of the form key=value");
      ctx.exit_code = exit_usage;
      return;
    }
    fields.emplace_back(param.substr(0, eq), param.substr(eq + 1));
  }
  ingest::record_context rc;
  rc.base_dir = std::filesystem::current_path();
  auto record = ingest::job_from_text_fields(fields, rc);
  if (auto* reason = std::get_if<std::string>(&record)) {
    report_error("invalid job", *reason);
    ctx.exit_code = exit_usage;
    return;
  }
  auto s = open_session(ctx, db_access::create);
  if (!s) return;
  if (auto why = engine::account_problem(o.account, s->config)) {
    report_error("invalid job", *why);
    ctx.exit_code = exit_usage;
    return;
  }
  auto& jobs = *s->store;
  std::int64_t id = 0;
  auto outcome = jobs.insert(std::get<store::new_job>(record), &id);
  if (!outcome) {
    report_error("enqueue", s->store->last_error());
    ctx.exit_code = exit_failure;
    return;
  }
  if (*outcome == store::insert_outcome::duplicate_key) {
    // The existing id on stdout, so `id=$(vidq enqueue -k K ...)` works the second time too.
    auto existing = jobs.get_by_key(o.key);
    if (!existing || !*existing) {
      report_error("enqueue", existing ? "key '" + o.key + "' vanished meanwhile" : s->store->last_error());
      ctx.exit_code = exit_failure;
      return;
    }
    std::fprintf(stderr, "vidq: key '%s' is already job %lld (%s); nothing inserted\n", o.key.c_str(),
                 static_cast<long long>((*existing)->id), std::string(to_string((*existing)->state)).c_str());
    std::printf("%lld\n", static_cast<long long>((*existing)->id));
    return;
  }
  std::printf("%lld\n", static_cast<long long>(id));
}

}  // namespace

void register_enqueue(CLI::App& root, context& ctx) {
  auto o = std::make_shared<enqueue_options>();
  auto* cmd = root.add_subcommand("enqueue", "Add one job to the queue and print its id");
  cmd->add_option("-m,--model", o->model, "Model, e.g. cogvideox-3, vidu2-image")->required();
  cmd->add_option("-p,--prompt", o->prompt, "Text prompt (at most 512 characters)");
  cmd->add_option("-i,--image", o->images, "Image URL or local PNG/JPEG path; repeat for first/last frames");
  cmd->add_option("--param", o->params, "Any other API field as key=value, e.g. --param size=1920x1080");
  cmd->add_option("-b,--batch", o->batch, "Batch (campaign) name")->capture_default_str();
  cmd->add_option("-k,--key", o->key, "Idempotency key: enqueueing the same key twice is a no-op");
  cmd->add_option("--priority", o->priority, "Higher runs first")->capture_default_str();
  cmd->add_option("-a,--account", o->account, "Provider account from the config")->capture_default_str();
  cmd->callback([&ctx, o] { run_enqueue(ctx, *o); });
}

}  // namespace vidq::cli
