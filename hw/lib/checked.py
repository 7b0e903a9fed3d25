"""``CheckedArguments``: reject bad constructor arguments before an elaboratable exists.

Why: Amaranth warns (``UnusedElaboratable``, when the object is garbage-collected) about every
elaboratable that was created and never elaborated. A component whose ``__init__`` raises on a bad
argument has already been created by then, so the rejection itself would trigger the warning, and
Amaranth has no public way to mark an object as deliberately dropped. With this mixin the class's
:meth:`check_arguments` runs in ``__new__``, before the object is created: a rejected call creates
nothing.
"""

__all__ = ["CheckedArguments"]


class CheckedArguments:
    """Mixin for an :class:`~amaranth.hdl.Elaboratable` (put it first among the bases).

    The class defines ``check_arguments`` as a ``staticmethod`` with the same parameters as its
    ``__init__`` (defaults included); it raises ``TypeError``/``ValueError`` naming the argument,
    and returns nothing. ``__init__`` then only stores the (already checked) arguments.
    """

    @staticmethod
    def check_arguments(*args, **kwargs):
        raise NotImplementedError

    def __new__(cls, *args, **kwargs):
        cls.check_arguments(*args, **kwargs)
        # src_loc_at=1: Amaranth's "never used" warning names the caller's line, not this one
        return super().__new__(cls, *args, src_loc_at=1, **kwargs)
