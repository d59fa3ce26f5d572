//! One lint rule per file; each file's leading `//!` comment is the rule's documentation.
//!
//! Owns nothing but the module list; the registry (`lint::registry`) maps codes to these
//! check functions. It must not hold check logic.

pub(crate) mod allow_downscale_unsupported;
pub(crate) mod authentication_without_encryption;
pub(crate) mod auto_tie_breaker_list_without_wait_for_all;
pub(crate) mod auto_tie_breaker_node_invalid;
pub(crate) mod auto_tie_breaker_node_without_auto_tie_breaker;
pub(crate) mod auto_tie_breaker_odd_votes_disabled;
pub(crate) mod bindnetaddr_ignored_with_nodelist;
pub(crate) mod consensus_below_token_ratio;
pub(crate) mod crypto_disabled;
pub(crate) mod duplicate_key;
pub(crate) mod duplicate_node_address;
pub(crate) mod duplicate_node_name;
pub(crate) mod even_votes_without_tie_breaker;
pub(crate) mod expected_votes_above_node_votes;
pub(crate) mod expected_votes_below_node_votes;
pub(crate) mod expected_votes_overridden_by_tracking;
pub(crate) mod inline_comment;
pub(crate) mod knet_ping_interval_above_timeout;
pub(crate) mod last_man_standing_disabled_by_votes;
pub(crate) mod last_man_standing_split_brain;
pub(crate) mod last_man_standing_window_too_small;
pub(crate) mod legacy_interface_option;
pub(crate) mod links_share_address;
pub(crate) mod member_section_deprecated;
pub(crate) mod negative_config_version;
pub(crate) mod no_quorum_provider;
pub(crate) mod node_votes_single_point_of_failure;
pub(crate) mod node_without_address;
pub(crate) mod pve_config_version_missing;
pub(crate) mod pve_value_with_spaces;
pub(crate) mod qdevice_ffsplit_odd_nodes;
pub(crate) mod qdevice_lms_even_nodes;
pub(crate) mod qdevice_lms_numeric_tie_breaker;
pub(crate) mod qdevice_votes_not_one;
pub(crate) mod qdevice_votes_outvote_nodes;
pub(crate) mod quorum_vote_overflow;
pub(crate) mod repeated_nodelist;
pub(crate) mod ring_address_hostname;
pub(crate) mod ring_address_not_dotted_quad;
pub(crate) mod single_link;
pub(crate) mod token_budget_near_pve_watchdog;
pub(crate) mod token_too_small;
pub(crate) mod totem_nodeid_deprecated;
pub(crate) mod two_node_relies_on_fencing;
pub(crate) mod two_node_with_auto_tie_breaker;
pub(crate) mod two_node_with_more_than_two_nodes;
pub(crate) mod two_node_without_wait_for_all;
pub(crate) mod udp_interface_ignored;
pub(crate) mod unknown_key;
pub(crate) mod unknown_section;
