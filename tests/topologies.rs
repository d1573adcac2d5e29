//! The grid and tree topologies link exactly the pairs their definitions name.

use msgsim::Scenario;
use msgsim::id::NodeId;

fn links(topology: &str, n: u32) -> Vec<(u32, u32)> {
    let ron = format!(r#"Scenario(name: "t", horizon_ms: 10, nodes: {n}, topology: {topology}, protocol: BestEffort())"#);
    let s = Scenario::parse(&ron, "topologies").unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    for a in 0..n {
        for b in 0..n {
            if a != b && s.topology.has_link(NodeId(a), NodeId(b)) {
                assert!(s.topology.has_link(NodeId(b), NodeId(a)), "links work both ways");
                if a < b {
                    out.push((a, b));
                }
            }
        }
    }
    out
}

#[test]
fn a_grid_links_right_and_down_neighbours() {
    // 7 nodes in rows of 3:  0 1 2 / 3 4 5 / 6
    let expected = vec![(0, 1), (0, 3), (1, 2), (1, 4), (2, 5), (3, 4), (3, 6), (4, 5)];
    assert_eq!(links("Grid(columns: 3)", 7), expected);
    // A 5 x 5 grid has 2 · 5 · 4 = 40 links, and one column is a line.
    assert_eq!(links("Grid(columns: 5)", 25).len(), 40);
    assert_eq!(links("Grid(columns: 1)", 4), vec![(0, 1), (1, 2), (2, 3)]);
}

#[test]
fn a_tree_links_each_node_with_its_parent() {
    // Fan-out 2: 0 -> 1, 2; 1 -> 3, 4; 2 -> 5.
    assert_eq!(links("Tree(fanout: 2)", 6), vec![(0, 1), (0, 2), (1, 3), (1, 4), (2, 5)]);
    // Any tree of n nodes has n - 1 links; fan-out n - 1 is a star around node 0.
    assert_eq!(links("Tree(fanout: 4)", 25).len(), 24);
    assert_eq!(links("Tree(fanout: 4)", 5), vec![(0, 1), (0, 2), (0, 3), (0, 4)]);
}
