//! FLOPs per exit against counts worked out by hand (multiply–add = 2 FLOPs).
use crate::common;

#[test]
fn tiny_msdnet_matches_the_hand_count() {
    // Scales 28 and 14 px. Stem: 3×3 1→2 @28² = 2·1·2·9·784 = 28 224; 3×3 s2 2→4 → 14²:
    // 2·2·4·9·196 = 28 224.                                                   stem = 56 448
    // Block 0, one layer (channels [2, 4]):
    //   scale 0, normal bottleneck 2→2 (inner min(2, 1·2) = 2): 1×1 @28² 2·2·2·784 = 6 272,
    //     3×3 @28² 2·2·2·9·784 = 56 448                                        → 62 720
    //   scale 1, down 2→1 (inner 1): 1×1 @28² 2·2·1·784 = 3 136, 3×3 s2 → 14²: 2·1·1·9·196
    //     = 3 528; normal 4→1 (inner 1): 1×1 @14² 2·4·1·196 = 1 568, 3×3 3 528  → 11 760
    //   stage 0 = 56 448 + 62 720 + 11 760 = 130 928; channels now [4, 6].
    // Head 0: 3×3 s2 6→4, 14 → 7: 2·6·4·9·49 = 21 168; 3×3 s2 4→4, 7 → 4: 2·4·4·9·16 = 4 608;
    //   linear 4→10: 80                                                       → 25 856
    // Block 1: transitions 4→2 @28²: 2·4·2·784 = 12 544, 6→3 @14²: 2·6·3·196 = 7 056;
    //   one layer that drops scale 0: scale 1 down 2→1: 3 136 + 3 528 = 6 664,
    //   normal 3→1 (inner 1): 2·3·196 = 1 176 + 3 528 = 4 704
    //   stage 1 = 19 600 + 11 368 = 30 968; channels at scale 1 now 5.
    // Head 1: 2·5·4·9·49 = 17 640 + 4 608 + 80 = 22 328.
    // Cumulative: exit 0 = 130 928 + 25 856 = 156 784; exit 1 = + 30 968 + 22 328 = 210 080.
    let c = common::tiny_msdnet();
    assert_eq!(c.stage_flops(), vec![130_928.0, 30_968.0]);
    assert_eq!(c.head_flops(), vec![25_856.0, 22_328.0]);
    assert_eq!(c.flops_per_exit(), vec![156_784.0, 210_080.0]);
}

#[test]
fn tiny_vit_matches_the_hand_count() {
    // T = 16 patches + 1 = 17 tokens, d = 8. Patch embedding: 16 patches × (49 → 8):
    // 2·16·49·8 = 12 544. Block: Q, K, V, out 4·2·17·8·8 = 8 704; QKᵀ and AV 2·2·17·17·8 = 9 248;
    // MLP 2·17·8·16 + 2·17·16·8 = 8 704 → 26 656. Head: 2·8·10 = 160.
    // Exit 0 = 12 544 + 26 656 + 160 = 39 360; exit 1 = + 26 656 + 160 = 66 176.
    let c = common::tiny_vit();
    assert_eq!(c.flops_per_exit(), vec![39_360.0, 66_176.0]);
}

#[test]
fn presets_are_valid_and_large_costs_well_above_small() {
    for name in pcee_nn::PRESETS {
        let c = pcee_nn::preset(name).unwrap();
        c.validate().unwrap();
        let f = c.flops_per_exit();
        assert!(f.windows(2).all(|w| w[0] < w[1]), "{name}: {f:?}");
    }
    let full = |n: &str| *pcee_nn::preset(n).unwrap().flops_per_exit().last().unwrap();
    assert!(full("msdnet-large") > 2.5 * full("msdnet-small"));
    assert!(full("vit-large") > 2.0 * full("vit-small"));
    assert!(pcee_nn::preset("resnet")
        .unwrap_err()
        .to_string()
        .starts_with("arch: unknown"));
}
