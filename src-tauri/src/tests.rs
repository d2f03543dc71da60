//! The shell's own contract: commands, capability and CSP agree.

/// The capability grants exactly the registered commands, and lib.rs registers exactly the
/// listed ones (so a new command cannot ship without a permission, nor an unused grant).
#[test]
fn commands_handler_and_capability_agree() {
    let listed: std::collections::BTreeSet<&str> = crate::command_list::COMMANDS.iter().copied().collect();
    let lib = include_str!("lib.rs");
    let start = lib.find("generate_handler![").expect("handler");
    let end = lib[start..].find("])").expect("end") + start;
    let registered: std::collections::BTreeSet<&str> =
        lib[start + 18..end].split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    assert_eq!(listed, registered);
    let cap: serde_json::Value = serde_json::from_str(include_str!("../capabilities/main.json")).unwrap();
    let granted: std::collections::BTreeSet<String> =
        cap["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    let expected: std::collections::BTreeSet<String> =
        listed.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
    assert_eq!(granted, expected);
    let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
    let csp = &conf["app"]["security"]["csp"];
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["object-src"], "'none'");
    assert!(!csp.to_string().contains("http://") || csp["connect-src"] == "ipc: http://ipc.localhost");
    assert!(!csp.to_string().contains("unsafe"), "no unsafe-inline/eval");
}
