//! [`Conn`]: one single-node connection or one Redis Cluster connection behind the same
//! driver interface, so every operation is written once.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

/// A multiplexed connection to one Redis, or to every master of a cluster (commands are
/// routed by their first key's hash slot; the driver follows MOVED and refreshes slots).
#[derive(Clone)]
pub(super) enum Conn {
    /// One Redis (`[store] cluster` unset).
    Single(ConnectionManager),
    /// A Redis Cluster (`[store] cluster = true`).
    Cluster(ClusterConnection),
}

impl Conn {
    /// Runs `cmd` on the master that owns `key`'s hash slot: for commands such as SCAN that
    /// name no key but must reach the node holding a slot.
    pub(super) async fn query_at(&mut self, cmd: Cmd, key: &str) -> RedisResult<Value> {
        match self {
            Conn::Single(conn) => cmd.query_async(conn).await,
            Conn::Cluster(conn) => {
                let route = Route::with_key(key, SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                conn.route_command(cmd, routing).await
            }
        }
    }
}

/// The hash slot of a full key (its `{tag}` when it has one), to group a cluster
/// admission's keys.
pub(super) fn slot(key: &str) -> Slot {
    Slot::for_key(key)
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(conn) => conn.req_packed_command(cmd),
            Conn::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(conn) => conn.get_db(),
            Conn::Cluster(conn) => conn.get_db(),
        }
    }
}
