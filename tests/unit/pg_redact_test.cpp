// Connection strings reach logs and errors only through redact_conninfo: no password in
// either form libpq accepts.
#include "vidq/store/postgres/connection.hpp"

#include <gtest/gtest.h>

namespace vidq::store::pg {
namespace {

TEST(PgRedact, HidesTheUrlPassword) {
  EXPECT_EQ(redact_conninfo("postgresql://vidq:s3cr%40t@db1:5432,db2/vidq?target_session_attrs=read-write"),
            "postgresql://vidq:***@db1:5432,db2/vidq?target_session_attrs=read-write");
  EXPECT_EQ(redact_conninfo("postgres://vidq@db1/vidq"), "postgres://vidq@db1/vidq");
}

TEST(PgRedact, HidesKeyValueAndQueryPasswords) {
  EXPECT_EQ(redact_conninfo("host=db1 user=vidq password=hunter2 dbname=vidq"),
            "host=db1 user=vidq password=*** dbname=vidq");
  EXPECT_EQ(redact_conninfo("host=db1 password = 'it\\'s secret' dbname=vidq"), "host=db1 password = *** dbname=vidq");
  EXPECT_EQ(redact_conninfo("postgresql://db1/vidq?user=vidq&password=hunter2&sslmode=require"),
            "postgresql://db1/vidq?user=vidq&password=***&sslmode=require");
}

TEST(PgRedact, LeavesStringsWithoutAPasswordAlone) {
  EXPECT_EQ(redact_conninfo("host=/run/postgresql dbname=vidq"), "host=/run/postgresql dbname=vidq");
}

}  // namespace
}  // namespace vidq::store::pg
