namespace Sandbox.Init;

/// <summary>How init makes the prepared root the workload's <c>/</c>.</summary>
public enum RootSwitch
{
    /// <summary>pivot_root and detach the old root (container: the host's tree disappears entirely).</summary>
    PivotRoot,

    /// <summary>Move the new root over <c>/</c> and chroot (a guest whose root is initramfs, where pivot_root is refused).</summary>
    MoveAndChroot,
}
